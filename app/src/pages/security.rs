//! Settings > Security: the second factor. An authenticator app (QR code
//! and secret, confirmed by a code), passkeys (named, listed, removable),
//! recovery codes (shown once, downloadable, regenerated on demand), and
//! turning it off (password and a code). Every change asks for sudo mode.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    components::{passkey, Field, FormAlert, SubmitButton, SudoGate},
    rpc::security::{
        security_status, ConfirmTotp, DisableTwoFactor, FinishPasskey, RegenerateRecoveryCodes,
        RemovePasskey, StartPasskey, StartTotp,
    },
    second_factor::{RecoveryCodes, SecurityView},
    types::Timestamp,
};

const BUTTON: &str = "rounded-md bg-indigo-700 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-800 disabled:opacity-60";
const SECONDARY: &str =
    "rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-50 disabled:opacity-60";
const CARD: &str = "mt-6 max-w-2xl rounded-lg border border-slate-200 bg-white p-6 shadow-sm";

#[derive(Clone, Copy)]
struct Actions {
    start_totp: ServerAction<StartTotp>,
    confirm_totp: ServerAction<ConfirmTotp>,
    disable: ServerAction<DisableTwoFactor>,
    regenerate: ServerAction<RegenerateRecoveryCodes>,
    start_passkey: ServerAction<StartPasskey>,
    finish_passkey: ServerAction<FinishPasskey>,
    remove_passkey: ServerAction<RemovePasskey>,
    /// The name typed for a new passkey, and the browser's refusal.
    passkey_name: RwSignal<String>,
    browser_error: RwSignal<Option<String>>,
}

#[component]
pub fn SecurityPage() -> impl IntoView {
    let a = Actions {
        start_totp: ServerAction::new(),
        confirm_totp: ServerAction::new(),
        disable: ServerAction::new(),
        regenerate: ServerAction::new(),
        start_passkey: ServerAction::new(),
        finish_passkey: ServerAction::new(),
        remove_passkey: ServerAction::new(),
        passkey_name: RwSignal::new(String::new()),
        browser_error: RwSignal::new(None),
    };
    // The server's options arrive: ask the browser, then send its answer.
    // Here, not in the card, which is drawn again after every change.
    Effect::new(move |_| {
        if let Some(Ok(options)) = a.start_passkey.value().get() {
            a.browser_error.set(None);
            spawn_local(async move {
                match passkey::create(options).await {
                    Ok(credential) => {
                        a.finish_passkey.dispatch(FinishPasskey {
                            passkey_name: a.passkey_name.get_untracked(),
                            credential,
                        });
                    }
                    Err(m) => a.browser_error.set(Some(m)),
                }
            });
        }
    });
    let status = Resource::new(
        move || {
            (
                a.confirm_totp.version().get(),
                a.disable.version().get(),
                a.regenerate.version().get(),
                a.finish_passkey.version().get(),
                a.remove_passkey.version().get(),
            )
        },
        |_| security_status(),
    );
    // The recovery codes of the last answer that carried some (shown once).
    let codes = Memo::new(move |_| {
        let from = |v: Option<Result<Option<RecoveryCodes>, _>>| v.and_then(|r| r.ok()).flatten();
        from(a.confirm_totp.value().get())
            .or_else(|| from(a.finish_passkey.value().get()))
            .or_else(|| a.regenerate.value().get().and_then(|r| r.ok()))
    });
    let query = use_query_map();
    let required_banner = move || query.read().get("required").is_some();
    view! {
        <Title text="Security · Preqstation"/>
        <h1 class="text-2xl font-semibold">"Security"</h1>
        <p class="mt-1 text-sm text-slate-600">"A second factor at sign-in: an authenticator app, passkeys, or both."</p>
        <Show when=required_banner>
            <p role="alert" class="mt-4 max-w-2xl rounded-md border border-amber-200 bg-amber-50 p-4 text-sm text-amber-900">
                "Your administrators require two-factor authentication. Set up an authenticator app or a passkey to use the dashboard; your API keys keep working meanwhile."
            </p>
        </Show>
        <SudoGate action=a.start_totp/>
        <SudoGate action=a.confirm_totp/>
        <SudoGate action=a.disable/>
        <SudoGate action=a.regenerate/>
        <SudoGate action=a.start_passkey/>
        <SudoGate action=a.finish_passkey/>
        <SudoGate action=a.remove_passkey/>
        {move || codes.get().map(|c| view! { <CodesBox codes=c/> })}
        <Transition fallback=|| view! { <p class="mt-6 text-sm text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match status.await {
                    Err(e) => crate::components::refusal(e),
                    Ok(view) => view! {
                        <TotpCard a=a view=view.clone()/>
                        <PasskeysCard a=a view=view.clone()/>
                        <RecoveryCard a=a view=view.clone()/>
                        <DisableCard a=a view=view/>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// New recovery codes, shown once, with a download.
#[component]
fn CodesBox(codes: RecoveryCodes) -> impl IntoView {
    let text = format!(
        "Preqstation recovery codes. Each works once, in place of an authenticator code.\n\n{}\n",
        codes.0.join("\n")
    );
    let href = format!(
        "data:text/plain;charset=utf-8,{}",
        text.replace('%', "%25")
            .replace('\n', "%0A")
            .replace(' ', "%20")
            .replace('#', "%23")
    );
    view! {
        <section class="mt-6 max-w-2xl rounded-lg border border-green-300 bg-green-50 p-6" role="status">
            <h2 class="text-lg font-semibold text-green-900">"Your recovery codes"</h2>
            <p class="mt-1 text-sm text-green-900">
                "Save them now: they are shown only this once. Each signs you in once if you lose your authenticator."
            </p>
            <ul data-testid="recovery-codes" class="mt-3 grid grid-cols-2 gap-1 font-mono text-sm">
                {codes.0.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}
            </ul>
            <a href=href download="preqstation-recovery-codes.txt" class="mt-3 inline-block text-sm font-medium text-indigo-700">"Download as text"</a>
        </section>
    }
}

#[component]
fn TotpCard(a: Actions, view: SecurityView) -> impl IntoView {
    let enrol = move || a.start_totp.value().get().and_then(|r| r.ok());
    let start_err = move || a.start_totp.value().get().and_then(|r| r.err());
    let err = move || a.confirm_totp.value().get().and_then(|r| r.err());
    let confirmed = move || matches!(a.confirm_totp.value().get(), Some(Ok(_)));
    view! {
        <section class=CARD data-testid="totp-card">
            <h2 class="text-lg font-semibold">"Authenticator app"</h2>
            {if view.totp {
                view! { <p class="mt-2 text-sm text-green-800" data-testid="totp-on">"On. Sign-in asks for a code from your app."</p> }.into_any()
            } else {
                view! {
                    <p class="mt-1 text-sm text-slate-600">"Use an app such as 1Password, Google Authenticator or Aegis (TOTP, 6 digits, 30 seconds)."</p>
                    <FormAlert message=Signal::derive(move || start_err().and_then(|e| match e {
                        crate::error::AppError::SudoRequired(_) => None,
                        e => e.general(),
                    }))/>
                    <Show when=move || enrol().is_none() || confirmed()>
                        <ActionForm action=a.start_totp>
                            <button type="submit" class=format!("mt-3 {BUTTON}") disabled=move || a.start_totp.pending().get()>"Set up authenticator app"</button>
                        </ActionForm>
                    </Show>
                    {move || enrol().filter(|_| !confirmed()).map(|e| view! {
                        <div class="mt-4 flex flex-col gap-4 sm:flex-row">
                            <img src=e.qr_svg.clone() alt="QR code to scan with the authenticator app" width="200" height="200" data-testid="totp-qr"/>
                            <div class="text-sm">
                                <p>"Scan the code, or type this key into the app:"</p>
                                <p class="mt-1 break-all font-mono" data-testid="totp-secret">{e.secret.clone()}</p>
                                <ActionForm action=a.confirm_totp>
                                    <div class="mt-3 space-y-3">
                                        <Field label="Code from the app" name="code" autocomplete="one-time-code"
                                            error=Signal::derive(move || err().and_then(|e| e.for_field("code")))/>
                                        <SubmitButton label="Turn on" pending_label="Checking…" pending=a.confirm_totp.pending()/>
                                    </div>
                                </ActionForm>
                            </div>
                        </div>
                    })}
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn PasskeysCard(a: Actions, view: SecurityView) -> impl IntoView {
    let name = a.passkey_name;
    let browser_error = a.browser_error;
    let err = move || {
        a.finish_passkey
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| a.start_passkey.value().get().and_then(|r| r.err()))
            .filter(|e| !matches!(e, crate::error::AppError::SudoRequired(_)))
            .map(|e| e.to_string())
            .or_else(|| browser_error.get())
    };
    let remove_err = move || {
        a.remove_passkey
            .value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.general())
    };
    view! {
        <section class=CARD data-testid="passkeys-card">
            <h2 class="text-lg font-semibold">"Passkeys"</h2>
            {match view.passkeys_unavailable {
                Some(why) => view! { <p class="mt-2 text-sm text-amber-900" data-testid="passkeys-unavailable">{why}</p> }.into_any(),
                None => view! {
                    <p class="mt-1 text-sm text-slate-600">"A passkey on this device or a security key, checked with your fingerprint, face or PIN."</p>
                    <FormAlert message=Signal::derive(remove_err)/>
                    <ul class="mt-3 divide-y divide-slate-100" data-testid="passkey-list">
                        {view.passkeys.into_iter().map(|p| {
                            let id = p.id.clone();
                            view! {
                                <li class="flex items-center justify-between py-2 text-sm">
                                    <span>
                                        <span class="font-medium">{p.name.clone()}</span>
                                        <span class="block text-xs text-slate-500">
                                            {format!("Added {}; {}", p.created_at.display_utc(), last_used(p.last_used_at))}
                                        </span>
                                    </span>
                                    <ActionForm action=a.remove_passkey>
                                        <input type="hidden" name="id" value=id/>
                                        <button type="submit" class=SECONDARY>"Remove"</button>
                                    </ActionForm>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    <div class="mt-4 flex flex-wrap items-end gap-2">
                        <label class="text-sm">
                            <span class="block font-medium text-slate-700">"Name"</span>
                            <input name="passkey_name" placeholder="Laptop" maxlength="60"
                                prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))
                                class="mt-1 rounded-md border border-slate-300 px-3 py-2 text-sm"/>
                        </label>
                        <button type="button" class=BUTTON data-testid="add-passkey"
                            disabled=move || a.start_passkey.pending().get() || a.finish_passkey.pending().get()
                            on:click=move |_| { a.start_passkey.dispatch(StartPasskey {}); }>
                            "Add passkey"
                        </button>
                    </div>
                    <p class="mt-1 min-h-5 text-sm text-red-700" data-error-for="passkey_name" aria-live="polite">{err}</p>
                }.into_any(),
            }}
        </section>
    }
}

fn last_used(at: Option<Timestamp>) -> String {
    match at {
        Some(t) => format!("last used {}", t.display_utc()),
        None => "never used".into(),
    }
}

#[component]
fn RecoveryCard(a: Actions, view: SecurityView) -> impl IntoView {
    let err = move || {
        a.regenerate
            .value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.general())
    };
    let enabled = view.enabled();
    view! {
        <Show when=move || enabled>
            <section class=CARD>
                <h2 class="text-lg font-semibold">"Recovery codes"</h2>
                <p class="mt-1 text-sm text-slate-600" data-testid="recovery-left">
                    {format!("{} of 10 unused. Each signs you in once if you lose your second factor.", view.recovery_left)}
                </p>
                <FormAlert message=Signal::derive(err)/>
                <ActionForm action=a.regenerate>
                    <button type="submit" class=format!("mt-3 {SECONDARY}")>"Regenerate codes"</button>
                </ActionForm>
            </section>
        </Show>
    }
}

#[component]
fn DisableCard(a: Actions, view: SecurityView) -> impl IntoView {
    let err = move || a.disable.value().get().and_then(|r| r.err());
    let enabled = view.enabled();
    let required = view.required;
    view! {
        <Show when=move || enabled>
            <section class=CARD>
                <h2 class="text-lg font-semibold">"Turn off two-factor authentication"</h2>
                {if required {
                    view! { <p class="mt-1 text-sm text-slate-600">"Your administrators require it, so it stays on."</p> }.into_any()
                } else {
                    view! {
                        <p class="mt-1 text-sm text-slate-600">"Removes the authenticator app, every passkey and the recovery codes."</p>
                        <FormAlert message=Signal::derive(move || err().and_then(|e| match e {
                            crate::error::AppError::SudoRequired(_) => None,
                            e => e.general(),
                        }))/>
                        <ActionForm action=a.disable>
                            <div class="mt-3 space-y-3">
                                <Field label="Password" name="current_password" kind="password" autocomplete="current-password"
                                    error=Signal::derive(move || err().and_then(|e| e.for_field("current_password")))/>
                                <Field label="Authentication or recovery code" name="code" autocomplete="one-time-code"
                                    error=Signal::derive(move || err().and_then(|e| e.for_field("code")))/>
                                <button type="submit" class="rounded-md bg-red-700 px-4 py-2 text-sm font-semibold text-white hover:bg-red-800">"Turn off"</button>
                            </div>
                        </ActionForm>
                    }.into_any()
                }}
            </section>
        </Show>
    }
}
