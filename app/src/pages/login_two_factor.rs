//! The second step of a sign-in (`/login/two-factor`): a code from the
//! authenticator app or a recovery code, or a passkey. Reached only by the
//! browser that typed the right password (its cookie names the state on the
//! server); after 5 minutes it starts again at the password.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    components::{passkey, AuthCard, Field, FormAlert, SubmitButton},
    rpc::auth::{login_passkey, login_passkey_options, second_step, LoginCode},
};

#[component]
pub fn TwoFactorPage() -> impl IntoView {
    let action = ServerAction::<LoginCode>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".into());
    let err = move || action.value().get().and_then(|r| r.err());
    let offered = Resource::new(|| (), |_| second_step());
    let passkey_error = RwSignal::new(None::<String>);
    let passkey_busy = RwSignal::new(false);
    // Back to an OAuth consent page as a whole document (its own CSP).
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(_))) {
            let target = next();
            if target.starts_with("/oauth/") {
                if let Some(w) = web_sys::window() {
                    let _ = w.location().assign(&target);
                }
            }
        }
    });
    let use_passkey = move |_| {
        passkey_busy.set(true);
        passkey_error.set(None);
        let next = next();
        spawn_local(async move {
            let result = async {
                let options = login_passkey_options().await.map_err(|e| e.to_string())?;
                let credential = passkey::get(options).await?;
                login_passkey(credential, Some(next))
                    .await
                    .map_err(|e| e.to_string())
            }
            .await;
            match result {
                Ok(to) => {
                    if let Some(w) = web_sys::window() {
                        let _ = w.location().assign(&to);
                    }
                }
                Err(m) => {
                    passkey_error.set(Some(m));
                    passkey_busy.set(false);
                }
            }
        });
    };
    view! {
        <Title text="Two-factor authentication · Preqstation"/>
        <AuthCard title="Two-factor authentication" subtitle="Your password was right. Now prove it is you.">
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match offered.await {
                        Err(e) => view! {
                            <p role="alert" class="text-sm text-red-800">{e.to_string()}</p>
                            <a href="/login" class="mt-4 block text-sm font-medium text-indigo-700">"Sign in again"</a>
                        }.into_any(),
                        Ok(step) => view! {
                            <FormAlert message=Signal::derive(move || err().and_then(|e| e.general()))/>
                            <ActionForm action=action>
                                <div class="space-y-3">
                                    <input type="hidden" name="next" prop:value=next/>
                                    <Field label="Authentication code" name="code" autocomplete="one-time-code"
                                        hint=if step.totp { "The 6-digit code your authenticator app shows, or a recovery code." } else { "A recovery code." }
                                        error=Signal::derive(move || err().and_then(|e| e.for_field("code")))/>
                                    <SubmitButton label="Verify" pending_label="Verifying…" pending=action.pending()/>
                                </div>
                            </ActionForm>
                            <Show when=move || step.passkeys>
                                <div class="mt-6 border-t border-slate-200 pt-4">
                                    <button type="button" on:click=use_passkey disabled=move || passkey_busy.get()
                                        data-testid="use-passkey"
                                        class="w-full rounded-md border border-slate-300 px-4 py-2 text-sm font-medium hover:bg-slate-50 disabled:opacity-60">
                                        "Use a passkey"
                                    </button>
                                    <p class="mt-1 min-h-5 text-sm text-red-700" aria-live="polite">{move || passkey_error.get()}</p>
                                </div>
                            </Show>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </AuthCard>
    }
}
