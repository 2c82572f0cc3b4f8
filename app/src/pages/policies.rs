//! Settings > Policies (administrators): token defaults and limits for the
//! whole deployment. Members see a refusal; the server functions refuse
//! them too.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    components::FormAlert,
    rpc::{
        auth::get_current_user,
        tokens::{get_token_policy, UpdateTokenPolicy},
    },
    tokens::{
        policy_limits::{DORMANT_PRESETS, MAX_ACTIVE_TOKENS_LIMIT, TASK_TOKEN_MAX_PRESETS},
        TokenPolicy, EXPIRY_PRESETS,
    },
};

#[component]
pub fn PoliciesPage() -> impl IntoView {
    let user = Resource::new(|| (), |_| get_current_user());
    let update = ServerAction::<UpdateTokenPolicy>::new();
    let policy = Resource::new(move || update.version().get(), |_| get_token_policy());
    view! {
        <Title text="Policies · Preqstation"/>
        <crate::components::SudoGate action=update/>
        <h1 class="text-2xl font-semibold">"Token policies"</h1>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let admin = matches!(user.await, Ok(Some(u)) if u.is_admin());
                if !admin {
                    #[cfg(feature = "ssr")]
                    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
                        res.set_status(http::StatusCode::FORBIDDEN);
                    }
                    return view! {
                        <p class="mt-4 rounded-md border border-amber-200 bg-amber-50 p-4 text-sm text-amber-900">
                            "Only administrators can see and change token policies."
                        </p>
                    }
                    .into_any();
                }
                match policy.await {
                    Ok(p) => view! { <PolicyForm action=update policy=p/> <TwoFactorPolicy/> }.into_any(),
                    Err(e) => view! { <p class="mt-4 text-sm text-red-700">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn PolicyForm(action: ServerAction<UpdateTokenPolicy>, policy: TokenPolicy) -> impl IntoView {
    let err = move || action.value().get().and_then(|r| r.err());
    let field_err = move |f: &'static str| move || err().and_then(|e| e.for_field(f));
    let saved = move || matches!(action.value().get(), Some(Ok(_)));
    let default_value = policy
        .default_expiry_days
        .map(|d| d.to_string())
        .unwrap_or_else(|| "never".into());
    let max_value = policy
        .max_lifetime_days
        .map(|d| d.to_string())
        .unwrap_or_else(|| "none".into());
    let options = |current: String, none_value: &'static str, none_label: &'static str| {
        let mut v = EXPIRY_PRESETS
            .into_iter()
            .map(|d| {
                let value = d.to_string();
                let selected = value == current;
                view! { <option value=value selected=selected>{format!("{d} days")}</option> }
                    .into_any()
            })
            .collect::<Vec<_>>();
        let selected = current == none_value;
        v.push(
            view! { <option value=none_value selected=selected>{none_label}</option> }.into_any(),
        );
        v
    };
    view! {
        <p class="mt-1 max-w-2xl text-sm text-slate-600">
            "Apply to every account when a token is created. Existing tokens keep the expiry they were created with."
        </p>
        <section class="mt-6 max-w-xl rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
            <FormAlert message=Signal::derive(move || err().and_then(|e| e.general()))/>
            <Show when=saved>
                <p role="status" class="mb-4 rounded-md bg-green-50 px-3 py-2 text-sm text-green-800">"Policy saved."</p>
            </Show>
            <ActionForm action=action>
                <div class="grid gap-5">
                    <div>
                        <label for="default-expiry" class="block text-sm font-medium">"Default expiration"</label>
                        <select id="default-expiry" name="default_expiry" class="mt-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm">
                            {options(default_value, "never", "No expiration")}
                        </select>
                        <p class="mt-1 text-xs text-slate-500">"Pre-selected in the New Token form."</p>
                        <p class="mt-1 text-sm text-red-700" data-error-for="default_expiry">{field_err("default_expiry")}</p>
                    </div>
                    <div>
                        <label for="max-lifetime" class="block text-sm font-medium">"Maximum lifetime"</label>
                        <select id="max-lifetime" name="max_lifetime" class="mt-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm">
                            {options(max_value, "none", "No limit (allow \u{201c}No expiration\u{201d})")}
                        </select>
                        <p class="mt-1 text-xs text-slate-500">"With a limit, tokens that never expire cannot be created."</p>
                        <p class="mt-1 text-sm text-red-700" data-error-for="max_lifetime">{field_err("max_lifetime")}</p>
                    </div>
                    <div>
                        <label for="max-active" class="block text-sm font-medium">"Active tokens per account"</label>
                        <input id="max-active" name="max_active_tokens" type="number" min="1" max=MAX_ACTIVE_TOKENS_LIMIT
                            value=policy.max_active_tokens
                            class="mt-1 w-28 rounded-md border border-slate-300 px-3 py-2 text-sm"/>
                        <p class="mt-1 text-sm text-red-700" data-error-for="max_active_tokens">{field_err("max_active_tokens")}</p>
                    </div>
                    <div>
                        <div class="flex items-start gap-2">
                            <input id="revoke-family" name="revoke_family_on_reuse" type="checkbox" value="on"
                                checked=policy.revoke_family_on_reuse
                                aria-describedby="revoke-family-help"
                                class="mt-1 h-4 w-4 rounded border-slate-300"/>
                            <label for="revoke-family" class="text-sm font-medium">"Revoke the whole rotation family when a retired token is used"</label>
                        </div>
                        <p id="revoke-family-help" class="mt-1 text-xs text-slate-500">
                            "A retired token that tries to rotate always revokes its family. With this on, any use of a retired token does, so an agent that lags behind its own rotation loses its tokens too."
                        </p>
                        <p class="mt-1 text-sm text-red-700" data-error-for="revoke_family_on_reuse">{field_err("revoke_family_on_reuse")}</p>
                    </div>
                    <div>
                        <label for="revoke-unused" class="block text-sm font-medium">"Revoke tokens unused for"</label>
                        <select id="revoke-unused" name="revoke_unused_after" aria-describedby="revoke-unused-help"
                            class="mt-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm">
                            <option value="off" selected=policy.revoke_unused_after_days.is_none()>"Never (off)"</option>
                            {DORMANT_PRESETS
                                .into_iter()
                                .map(|d| {
                                    let selected = policy.revoke_unused_after_days == Some(d);
                                    view! { <option value=d.to_string() selected=selected>{format!("{d} days")}</option> }
                                })
                                .collect::<Vec<_>>()}
                        </select>
                        <p id="revoke-unused-help" class="mt-1 text-xs text-slate-500">
                            "API keys not used for this long (never used: since they were created) are revoked by the server within a minute; the owner sees why."
                        </p>
                        <p class="mt-1 text-sm text-red-700" data-error-for="revoke_unused_after">{field_err("revoke_unused_after")}</p>
                    </div>
                    <div>
                        <label for="task-token-max" class="block text-sm font-medium">"Task-scoped tokens live at most"</label>
                        <select id="task-token-max" name="task_token_max" aria-describedby="task-token-max-help"
                            class="mt-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm">
                            {TASK_TOKEN_MAX_PRESETS
                                .into_iter()
                                .map(|m| {
                                    let selected = policy.task_token_max_minutes == m;
                                    let label = if m < 60 { format!("{m} minutes") } else { format!("{} hours", m / 60) };
                                    view! { <option value=m.to_string() selected=selected>{label}</option> }
                                })
                                .collect::<Vec<_>>()}
                        </select>
                        <p id="task-token-max-help" class="mt-1 text-xs text-slate-500">
                            "The longest lifetime a token exchange may give a sub-agent's task token (they default to 15 minutes and never outlive their subject)."
                        </p>
                        <p class="mt-1 text-sm text-red-700" data-error-for="task_token_max">{field_err("task_token_max")}</p>
                    </div>
                    <div>
                        <button type="submit" class="rounded-md bg-indigo-700 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-800">
                            "Save policy"
                        </button>
                    </div>
                </div>
            </ActionForm>
        </section>
    }
}

/// The administrators' second-factor policy: require it for every account.
#[component]
fn TwoFactorPolicy() -> impl IntoView {
    use crate::rpc::security::{security_policy, UpdateSecurityPolicy};
    let update = ServerAction::<UpdateSecurityPolicy>::new();
    let current = Resource::new(move || update.version().get(), |_| security_policy());
    let err = move || {
        update
            .value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| match e {
                crate::error::AppError::SudoRequired(_) => None,
                e => e.general(),
            })
    };
    view! {
        <crate::components::SudoGate action=update/>
        <section class="mt-8 max-w-2xl rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
            <h2 class="text-lg font-semibold">"Two-factor authentication"</h2>
            <p class="mt-1 text-sm text-slate-600">
                "When required, accounts without a second factor are sent to set one up after signing in (yours too, if it has none); their API keys keep working."
            </p>
            <crate::components::FormAlert message=Signal::derive(err)/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let on = current.await.unwrap_or(false);
                    view! {
                        <ActionForm action=update>
                            <label class="mt-3 flex items-center gap-2 text-sm">
                                <input type="checkbox" name="require_two_factor" value="on" checked=on/>
                                "Require two-factor authentication for every account"
                            </label>
                            <button type="submit" class="mt-3 rounded-md bg-indigo-700 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-800">"Save"</button>
                        </ActionForm>
                    }
                })}
            </Transition>
        </section>
    }
}
