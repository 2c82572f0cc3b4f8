//! Sign in. After success the server redirects to `next` (a local path) or
//! the dashboard.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    auth::Login,
    components::{AuthCard, Field, FormAlert, SubmitButton},
};

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".into());
    let err = move || action.value().get().and_then(|r| r.err());
    view! {
        <Title text="Sign in · Preqstation"/>
        <AuthCard title="Sign in" subtitle="Manage the API tokens your agents use.">
            <FormAlert message=Signal::derive(move || err().and_then(|e| e.general()))/>
            <ActionForm action=action>
                <div class="space-y-3">
                    <input type="hidden" name="next" prop:value=next/>
                    <Field label="Email" name="email" kind="email" autocomplete="username"
                        error=Signal::derive(move || err().and_then(|e| e.for_field("email")))/>
                    <Field label="Password" name="password" kind="password" autocomplete="current-password"
                        error=Signal::derive(move || err().and_then(|e| e.for_field("password")))/>
                    <SubmitButton label="Sign in" pending_label="Signing in…" pending=action.pending()/>
                </div>
            </ActionForm>
        </AuthCard>
    }
}
