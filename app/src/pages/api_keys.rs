//! Settings > API Keys: create a token (shown once, with a copy button and
//! a ready-to-paste snippet), list tokens with their status, revoke one
//! after a confirmation naming it.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    components::FormAlert,
    pages::{
        kill_switch::KillSwitch,
        project_choice::ProjectChoice,
        token_actions::{ErrorLine, NewTokenPanel, RevokeDialog, RotateDialog},
        token_list::{StatusFilter, TokenTable},
    },
    rpc::tokens::{
        get_token_policy, list_token_page, CreateToken, RevokeAllCredentials, RevokeToken,
        RotateToken,
    },
    tokens::{CreatedToken, Scope, TokenPolicy, EXPIRY_PRESETS},
};

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let rotate = ServerAction::<RotateToken>::new();
    let revoke_all = ServerAction::<RevokeAllCredentials>::new();
    let rotating = RwSignal::new(None::<(String, String)>);
    let shown = RwSignal::new(None::<CreatedToken>);
    let show_form = RwSignal::new(false);
    let status = RwSignal::new(String::from("active"));
    let page = RwSignal::new(1u32);
    let confirming = RwSignal::new(None::<(String, String)>);

    let policy = Resource::new(|| (), |_| get_token_policy());
    let tokens = Resource::new(
        move || {
            (
                status.get(),
                page.get(),
                create.version().get(),
                revoke.version().get(),
                rotate.version().get(),
                revoke_all.version().get(),
            )
        },
        |(status, page, _, _, _, _)| list_token_page(Some(status), Some(page)),
    );

    // A successful create closes the form; a revoke closes the dialog.
    Effect::new(move |_| {
        if let Some(Ok(c)) = create.value().get() {
            show_form.set(false);
            shown.set(Some(c));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(c)) = rotate.value().get() {
            rotating.set(None);
            shown.set(Some(c));
        }
    });
    Effect::new(move |_| {
        if revoke.version().get() > 0 {
            confirming.set(None);
        }
    });

    view! {
        <Title text="API Keys · Preqstation"/>
        <crate::components::SudoGate action=create/>
        <crate::components::SudoGate action=rotate/>
        <div class="flex items-start justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold">"API Keys"</h1>
                <p class="mt-1 max-w-2xl text-sm text-slate-600">
                    "Tokens let your coding agents and scripts call the Preqstation API as you. "
                    "Give each agent or environment its own token so you can revoke one without breaking the others."
                </p>
            </div>
            <button
                type="button"
                class="shrink-0 rounded-md bg-indigo-700 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-800"
                on:click=move |_| show_form.update(|s| *s = !*s)
            >
                "+ New Token"
            </button>
        </div>

        {move || shown.get().map(|c| view! { <NewTokenPanel created=c on_done=move || shown.set(None)/> })}

        <Show when=move || show_form.get()>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match policy.await {
                        Ok(p) => view! { <CreateForm action=create policy=p/> }.into_any(),
                        Err(e) => view! { <p class="mt-4 text-sm text-red-700">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </Show>

        <Transition fallback=|| view! { <p class="mt-8 text-sm text-slate-500">"Loading tokens…"</p> }>
            {move || Suspend::new(async move {
                match tokens.await {
                    Ok(list) => {
                        let counts = list.counts;
                        let body = if list.tokens.is_empty() {
                            let filtered = counts.active + counts.expired + counts.revoked > 0;
                            view! { <EmptyState filtered=filtered/> }.into_any()
                        } else {
                            view! { <TokenTable list=list page=page confirming=confirming rotating=rotating/> }.into_any()
                        };
                        view! { <StatusFilter status=status counts=counts page=page/> {body} }.into_any()
                    }
                    Err(e) => view! { <p class="mt-8 text-sm text-red-700">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>

        <KillSwitch action=revoke_all/>

        {move || confirming.get().map(|(id, name)| view! { <RevokeDialog id=id name=name action=revoke on_cancel=move || confirming.set(None)/> })}
        {move || rotating.get().map(|(id, name)| view! { <RotateDialog id=id name=name action=rotate on_cancel=move || rotating.set(None)/> })}
    }
}

#[component]
fn CreateForm(action: ServerAction<CreateToken>, policy: TokenPolicy) -> impl IntoView {
    let err = move || action.value().get().and_then(|r| r.err());
    let field_err =
        move |f: &'static str| Signal::derive(move || err().and_then(|e| e.for_field(f)));
    let default_choice = match policy.default_expiry_days {
        Some(d) => d.to_string(),
        None => "never".to_string(),
    };
    let expiry = RwSignal::new(default_choice.clone());
    let presets = EXPIRY_PRESETS
        .into_iter()
        .filter(|d| policy.allows_days(*d))
        .map(|d| {
            let value = d.to_string();
            let selected = value == default_choice;
            view! { <option value=value selected=selected>{format!("{d} days")}</option> }
        })
        .collect::<Vec<_>>();
    let allows_never = policy.allows_never();
    let never_selected = default_choice == "never";
    let limit_note = policy
        .max_lifetime_days
        .map(|d| format!("Your administrator allows at most {d} days."));

    view! {
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-6 shadow-sm" aria-labelledby="new-token-heading">
            <h2 id="new-token-heading" class="text-lg font-semibold">"New token"</h2>
            <div class="mt-4">
                <FormAlert message=Signal::derive(move || err().and_then(|e| e.general()))/>
            </div>
            <ActionForm action=action>
                <div class="grid gap-5">
                    <div>
                        <label for="token-name" class="block text-sm font-medium">"Name"</label>
                        <input id="token-name" name="name" type="text" required maxlength="64" autocomplete="off"
                            placeholder="e.g. local-dev, claude-code-prod, codex-testing"
                            class="mt-1 block w-full max-w-md rounded-md border border-slate-300 px-3 py-2 text-sm"/>
                        <ErrorLine field="name" error=field_err("name")/>
                    </div>
                    <div>
                        <label for="token-description" class="block text-sm font-medium">
                            "Description " <span class="font-normal text-slate-500">"(optional)"</span>
                        </label>
                        <textarea id="token-description" name="description" rows="2" maxlength="500"
                            placeholder="What uses this token, and where it is stored"
                            class="mt-1 block w-full max-w-md rounded-md border border-slate-300 px-3 py-2 text-sm"></textarea>
                        <ErrorLine field="description" error=field_err("description")/>
                    </div>
                    <div>
                        <label for="token-expiry" class="block text-sm font-medium">"Expiration"</label>
                        <div class="mt-1 flex flex-wrap items-center gap-3">
                            <select id="token-expiry" name="expiry"
                                class="rounded-md border border-slate-300 bg-white px-3 py-2 text-sm"
                                on:change=move |ev| expiry.set(event_target_value(&ev))>
                                {presets}
                                <option value="custom">"Custom date…"</option>
                                {allows_never.then(|| view! { <option value="never" selected=never_selected>"No expiration"</option> })}
                            </select>
                            <Show when=move || expiry.get() == "custom">
                                <input type="date" name="custom_date" aria-label="Expiration date"
                                    class="rounded-md border border-slate-300 px-3 py-2 text-sm"/>
                            </Show>
                        </div>
                        <p class="mt-1 text-xs text-slate-500">
                            "Short-lived (7-30 days) for CI and temporary access; 90-180 days for regular scripts; "
                            "no expiration only for tightly controlled environments that rotate tokens."
                            {limit_note.map(|n| format!(" {n}"))}
                        </p>
                        <ErrorLine field="expiry" error=field_err("expiry")/>
                        <ErrorLine field="custom_date" error=field_err("custom_date")/>
                    </div>
                    <fieldset>
                        <legend class="text-sm font-medium">"Scopes"</legend>
                        <div class="mt-2 grid gap-2">
                            {Scope::ALL
                                .into_iter()
                                .map(|s| {
                                    let name = format!("scope_{}", s.as_str().replace([':', '-'], "_"));
                                    let checked = Scope::DEFAULT.contains(&s);
                                    view! {
                                        <label class="flex items-start gap-2 text-sm">
                                            <input type="checkbox" name=name value="on" checked=checked class="mt-0.5"/>
                                            <span>
                                                <code class="rounded bg-slate-100 px-1 text-xs">{s.as_str()}</code>
                                                " "
                                                <span class="text-slate-600">{s.describe()}</span>
                                            </span>
                                        </label>
                                    }
                                })
                                .collect::<Vec<_>>()}
                        </div>
                        <ErrorLine field="scopes" error=field_err("scopes")/>
                    </fieldset>
                    <div>
                        <label for="token-allowed-ips" class="block text-sm font-medium">
                            "Allowed IPs " <span class="font-normal text-slate-500">"(optional)"</span>
                        </label>
                        <textarea id="token-allowed-ips" name="allowed_ips" rows="2"
                            placeholder="e.g. 203.0.113.0/24, 2001:db8::/32"
                            aria-describedby="token-allowed-ips-help"
                            class="mt-1 block w-full max-w-md rounded-md border border-slate-300 px-3 py-2 font-mono text-sm"></textarea>
                        <p id="token-allowed-ips-help" class="mt-1 text-xs text-slate-500">
                            "Addresses or CIDR networks, IPv4 or IPv6, separated by commas or lines. "
                            "Calls from anywhere else get 403; empty allows any IP."
                        </p>
                        <ErrorLine field="allowed_ips" error=field_err("allowed_ips")/>
                    </div>
                    <ProjectChoice error=field_err("projects")/>
                    <div>
                        <label for="token-usage-limit" class="block text-sm font-medium">
                            "Usage limit " <span class="font-normal text-slate-500">"(optional)"</span>
                        </label>
                        <div class="mt-1 flex flex-wrap items-center gap-2 text-sm">
                            <input id="token-usage-limit" name="usage_limit" inputmode="numeric" placeholder="no limit"
                                aria-describedby="token-usage-limit-help"
                                class="w-32 rounded-md border border-slate-300 px-3 py-2 text-sm"/>
                            <span>"calls, refilled"</span>
                            <select name="usage_refill_period" aria-label="Refill"
                                class="rounded-md border border-slate-300 bg-white px-3 py-2 text-sm">
                                <option value="none">"never"</option>
                                <option value="day">"every day"</option>
                                <option value="month">"every month"</option>
                            </select>
                        </div>
                        <p id="token-usage-limit-help" class="mt-1 text-xs text-slate-500">
                            "A runaway agent cannot spend more: past the limit calls get 429 until the next refill."
                        </p>
                        <ErrorLine field="usage_limit" error=field_err("usage_limit")/>
                    </div>
                    <div>
                        <button type="submit" disabled=move || action.pending().get()
                            class="rounded-md bg-indigo-700 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-800 disabled:opacity-60">
                            {move || if action.pending().get() { "Creating…" } else { "Create token" }}
                        </button>
                    </div>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
fn EmptyState(filtered: bool) -> impl IntoView {
    view! {
        <div class="mt-6 rounded-lg border border-dashed border-slate-300 bg-white p-8 text-center">
            {if filtered {
                view! { <p class="text-sm text-slate-600">"No tokens match this filter."</p> }.into_any()
            } else {
                view! {
                    <p class="font-medium">"No API tokens yet"</p>
                    <p class="mx-auto mt-1 max-w-md text-sm text-slate-600">
                        "A token lets an agent such as Claude Code or Codex read and update your tasks through the API. "
                        "Click \u{201c}+ New Token\u{201d}, name it after where it will be used, and copy it into the agent's environment."
                    </p>
                }.into_any()
            }}
        </div>
    }
}
