//! Settings > Account: change the password. Other sessions end; API tokens
//! are revoked unless the owner keeps them.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    components::{Field, FormAlert},
    pages::setup::PASSWORD_HINT,
    rpc::accounts::ChangePassword,
};

#[component]
pub fn AccountPage() -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let err = move || action.value().get().and_then(|r| r.err());
    let done = move || action.value().get().and_then(|r| r.ok());
    view! {
        <Title text="Account · Preqstation"/>
        <h1 class="text-2xl font-semibold">"Account"</h1>
        <section class="mt-6 max-w-lg rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
            <h2 class="text-lg font-semibold">"Change password"</h2>
            <p class="mt-1 text-sm text-slate-600">
                "Changing your password signs out every other session and revokes your API tokens, "
                "unless you choose to keep them."
            </p>
            <div class="mt-4">
                <FormAlert message=Signal::derive(move || err().and_then(|e| e.general()))/>
                <Show when=move || done().is_some()>
                    <p role="status" class="mb-4 rounded-md bg-green-50 px-3 py-2 text-sm text-green-800">{done}</p>
                </Show>
            </div>
            <ActionForm action=action>
                <div class="space-y-3">
                    <Field label="Current password" name="current_password" kind="password" autocomplete="current-password"
                        error=Signal::derive(move || err().and_then(|e| e.for_field("current_password")))/>
                    <Field label="New password" name="new_password" kind="password" autocomplete="new-password" hint=PASSWORD_HINT
                        error=Signal::derive(move || err().and_then(|e| e.for_field("new_password")))/>
                    <Field label="Confirm new password" name="confirm" kind="password" autocomplete="new-password"
                        error=Signal::derive(move || err().and_then(|e| e.for_field("confirm")))/>
                    <label class="flex items-start gap-2 text-sm">
                        <input type="checkbox" name="keep_tokens" value="on" class="mt-0.5"/>
                        <span>"Keep my API tokens" <span class="block text-xs text-slate-500">"Only if you are sure none of them leaked."</span></span>
                    </label>
                    <button type="submit" disabled=move || action.pending().get()
                        class="rounded-md bg-indigo-700 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-800 disabled:opacity-60">
                        "Change password"
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}
