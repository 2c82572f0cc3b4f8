//! Sign in. After success the server redirects to `next` (a local path) or
//! the dashboard.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    components::{AuthCard, Field, FormAlert, SubmitButton},
    rpc::auth::Login,
};

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".into());
    let err = move || action.value().get().and_then(|r| r.err());
    // Back to an OAuth consent page: load it as a whole document, not by a
    // client-side route change, so the browser applies that page's own CSP
    // (its form-action allows the client's redirect origin; this page's
    // does not, and Chromium holds the consent form's redirect to it).
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(true))) {
            let target = next();
            if target.starts_with("/oauth/") {
                if let Some(w) = web_sys::window() {
                    // A local path: "/oauth/..." cannot leave this origin.
                    let _ = w.location().assign(&target);
                }
            }
        }
    });
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
