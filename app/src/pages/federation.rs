//! Settings > Federation: the account's CI trust rules (an administrator's:
//! every rule, with its owner), the form that adds one
//! ([`super::federation_form`]), and per rule: its audience to copy into
//! the pipeline, change, enable or disable (its tokens die at once), delete
//! (confirmed), and its recent exchanges. Adding, changing and enabling go
//! through sudo mode ([`SudoGate`]). The effects on the actions' answers live here,
//! on the page, which is never drawn again.

use leptos::prelude::*;
use leptos_meta::Title;

use super::webhooks::{general, BUTTON, SECONDARY};
use crate::{
    components::{Dialog, Fact, FormAlert, SudoGate},
    federation::{RuleView, GITHUB_ISSUER},
    pages::federation_form::{EditRuleForm, RuleForm},
    rpc::federation::{
        get_federation_rule, list_federation_rules, CreateFederationRule, DeleteFederationRule,
        EnableFederationRule, UpdateFederationRule,
    },
    tokens::Scope,
    types::Timestamp,
};

/// The page's actions and what is open, shared by its parts.
#[derive(Clone, Copy)]
pub struct Actions {
    pub(super) create: ServerAction<CreateFederationRule>,
    pub(super) update: ServerAction<UpdateFederationRule>,
    enable: ServerAction<EnableFederationRule>,
    delete: ServerAction<DeleteFederationRule>,
    /// The rule whose exchanges are shown.
    open: RwSignal<Option<String>>,
    /// The rule whose "Change" form is open.
    pub(super) editing: RwSignal<Option<String>>,
    /// The rule whose deletion is being confirmed: id and name.
    deleting: RwSignal<Option<(String, String)>>,
}

#[component]
pub fn FederationPage() -> impl IntoView {
    let a = Actions {
        create: ServerAction::new(),
        update: ServerAction::new(),
        enable: ServerAction::new(),
        delete: ServerAction::new(),
        open: RwSignal::new(None),
        editing: RwSignal::new(None),
        deleting: RwSignal::new(None),
    };
    let show_form = RwSignal::new(false);
    let added = RwSignal::new(None::<RuleView>);
    let rules = Resource::new(
        move || {
            (
                a.create.version().get(),
                a.update.version().get(),
                a.enable.version().get(),
                a.delete.version().get(),
            )
        },
        |_| list_federation_rules(),
    );
    Effect::new(move |_| {
        if let Some(Ok(r)) = a.create.value().get() {
            show_form.set(false);
            added.set(Some(r));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = a.update.value().get() {
            a.editing.set(None);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = a.delete.value().get() {
            a.deleting.set(None);
        }
    });
    let error = move || general(a.enable.value().get().and_then(|r| r.err()));
    view! {
        <Title text="Federation · Preqstation"/>
        <SudoGate action=a.create/>
        <SudoGate action=a.update/>
        <SudoGate action=a.enable/>
        <div class="flex items-start justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold">"Federation"</h1>
                <p class="mt-1 max-w-2xl text-sm text-slate-600">
                    "Let CI jobs (GitHub Actions, GitLab CI, any OIDC issuer) trade their ID token for a short-lived "
                    "Preqstation token: no stored secret in the pipeline. A rule says which repository, branch or "
                    "environment it trusts and what its tokens may do. docs/federation.md has the pipeline steps."
                </p>
            </div>
            <button type="button" class=format!("shrink-0 {BUTTON}") aria-expanded=move || show_form.get().to_string()
                on:click=move |_| show_form.update(|s| *s = !*s)>
                "+ New rule"
            </button>
        </div>
        {move || added.get().map(|r| view! {
            <section class="mt-6 rounded-lg border border-green-300 bg-green-50 p-6" aria-labelledby="rule-added-heading" data-testid="rule-added">
                <h2 id="rule-added-heading" class="font-semibold text-green-900">{format!("Rule “{}” added", r.name)}</h2>
                <p class="mt-1 text-sm text-green-900">"Request ID tokens for this audience in the pipeline:"</p>
                <Audience value=r.audience.clone()/>
                <button type="button" on:click=move |_| added.set(None) class="mt-3 text-sm text-green-900 underline">"Done"</button>
            </section>
        })}
        <Show when=move || show_form.get()>
            <RuleForm a=a/>
        </Show>
        <FormAlert message=Signal::derive(error)/>
        <Transition fallback=|| view! { <p class="mt-6 text-sm text-slate-500">"Loading rules…"</p> }>
            {move || Suspend::new(async move {
                match rules.await {
                    Err(e) => crate::components::refusal(e),
                    Ok(list) if list.is_empty() => view! {
                        <p class="mt-6 rounded-lg border border-dashed border-slate-300 bg-white p-8 text-center text-sm text-slate-600" data-testid="rules-empty">
                            "No trust rules yet. Add one to let a repository's CI jobs get tokens without a stored secret."
                        </p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="mt-6 grid gap-4" aria-label="Trust rules">
                            {list.into_iter().map(|r| view! { <RuleCard rule=r a=a/> }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Transition>
        {move || a.deleting.get().map(|(id, name)| view! { <DeleteDialog id=id name=name a=a/> })}
    }
}

/// A rule's audience, with a Copy button.
#[component]
fn Audience(value: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let text = value.clone();
    view! {
        <div class="mt-2 flex items-center gap-2">
            <code data-testid="rule-audience" class="block flex-1 select-all overflow-x-auto rounded-md border border-slate-200 bg-white px-3 py-2 font-mono text-sm">
                {value}
            </code>
            <button type="button" class=SECONDARY on:click=move |_| {
                let _ = window().navigator().clipboard().write_text(&text);
                copied.set(true);
            }>
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
        </div>
    }
}

fn when(t: Option<Timestamp>) -> String {
    t.map(|t| t.display_utc()).unwrap_or_else(|| "Never".into())
}

#[component]
fn RuleCard(rule: RuleView, a: Actions) -> impl IntoView {
    let enabled = rule.disabled_at.is_none();
    let (id, enable_id) = (rule.id.clone(), rule.id.clone());
    let del = (rule.id.clone(), rule.name.clone());
    let shown = {
        let id = id.clone();
        move || a.open.get().as_deref() == Some(id.as_str())
    };
    let editing = {
        let id = id.clone();
        move || a.editing.get().as_deref() == Some(id.as_str())
    };
    let (edit_id, current) = (id.clone(), rule.clone());
    let badge = if enabled {
        "bg-green-100 text-green-900"
    } else {
        "bg-slate-200 text-slate-800"
    };
    let projects = match &rule.projects {
        None => "All".to_string(),
        Some(p) => format!("{} selected", p.len()),
    };
    let ips = if rule.allowed_ips.is_empty() {
        "Any".to_string()
    } else {
        rule.allowed_ips.join(", ")
    };
    let issuer = if rule.issuer == GITHUB_ISSUER {
        String::new()
    } else {
        rule.issuer.clone()
    };
    view! {
        <li class="rounded-lg border border-slate-200 bg-white p-5 shadow-sm" data-testid="federation-rule" data-name=rule.name.clone() data-enabled=enabled.to_string()>
            <div class="flex flex-wrap items-start justify-between gap-3">
                <div class="min-w-0">
                    <p class="font-medium">{rule.name.clone()}</p>
                    <p class="mt-0.5 text-sm text-slate-600">{rule.provider.label()}" "<span class="break-all font-mono text-xs">{issuer}</span></p>
                    {(!rule.owned).then(|| view! { <p class="mt-0.5 text-xs text-slate-600">"Account: "{rule.owner_email.clone()}</p> })}
                </div>
                <span class=format!("rounded px-2 py-0.5 text-xs font-medium {badge}") data-testid="rule-status">
                    {if enabled { "Enabled" } else { "Disabled" }}
                </span>
            </div>
            <p class="mt-3 text-xs font-medium uppercase text-slate-500">"Audience"</p>
            <Audience value=rule.audience.clone()/>
            <dl class="mt-3 grid gap-x-6 gap-y-2 text-sm sm:grid-cols-2 lg:grid-cols-3">
                <Fact label="Conditions">
                    {rule.conditions.iter().map(|c| view! {
                        <code class="mr-1 inline-block rounded bg-slate-100 px-1 text-xs" data-testid="rule-condition">{format!("{} = {}", c.claim, c.pattern)}</code>
                    }).collect_view()}
                </Fact>
                <Fact label="Scopes">{Scope::join(&rule.scopes)}</Fact>
                <Fact label="Lifetime">{format!("{} min", rule.ttl_secs / 60)}</Fact>
                <Fact label="Projects">{projects}</Fact>
                <Fact label="IP allowlist">{ips}</Fact>
                <Fact label="Usage limit">{rule.usage_limit.map_or("None".to_string(), |n| format!("{n} calls per token"))}</Fact>
                <Fact label="Live tokens"><span data-testid="rule-live">{rule.live_tokens}</span></Fact>
                <Fact label="Last exchange">{when(rule.last_exchange_at)}</Fact>
                {rule.allow_fork_events.then(|| view! {
                    <Fact label="Fork events"><span class="text-amber-800">"pull_request_target and workflow_run allowed"</span></Fact>
                })}
            </dl>
            <div class="mt-4 flex flex-wrap items-center gap-2">
                <button type="button" class=SECONDARY aria-expanded={let s = shown.clone(); move || s().to_string()}
                    on:click={let s = shown.clone(); move |_| a.open.set((!s()).then(|| id.clone()))}>
                    "Recent exchanges"
                </button>
                <ActionForm action=a.enable>
                    <input type="hidden" name="id" value=enable_id/>
                    <input type="hidden" name="enabled" value=(!enabled).to_string()/>
                    <button type="submit" class=SECONDARY>{if enabled { "Disable" } else { "Enable" }}</button>
                </ActionForm>
                {rule.owned.then(|| { let e = editing.clone(); view! {
                    <button type="button" class=SECONDARY aria-expanded={let e = e.clone(); move || e().to_string()}
                        on:click=move |_| a.editing.set((!e()).then(|| edit_id.clone()))>
                        "Change"
                    </button>
                }})}
                {rule.owned.then(|| view! {
                    <button type="button" class="rounded-md border border-red-300 px-3 py-1.5 text-sm font-medium text-red-700 hover:bg-red-50"
                        on:click=move |_| a.deleting.set(Some(del.clone()))>
                        "Delete"
                    </button>
                })}
            </div>
            <Show when=editing.clone()>
                <EditRuleForm rule=current.clone() a=a/>
            </Show>
            <Show when=shown.clone()>
                <Exchanges id=rule.id.clone()/>
            </Show>
        </li>
    }
}

/// The rule's recent exchanges: the tokens it issued, newest first.
#[component]
fn Exchanges(id: String) -> impl IntoView {
    let detail = Resource::new(move || id.clone(), get_federation_rule);
    view! {
        <Transition fallback=|| view! { <p class="mt-4 text-sm text-slate-500">"Loading exchanges…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => crate::components::refusal(e),
                    Ok(d) if d.exchanges.is_empty() => view! {
                        <p class="mt-4 text-sm text-slate-600" data-testid="exchanges-empty">"No exchanges yet."</p>
                    }.into_any(),
                    Ok(d) => view! {
                        <div class="mt-4 overflow-x-auto">
                            <table class="min-w-full text-left text-sm" data-testid="exchanges">
                                <caption class="sr-only">"Recent exchanges"</caption>
                                <thead class="text-xs uppercase text-slate-500">
                                    <tr>
                                        <th scope="col" class="py-1 pr-4">"When"</th>
                                        <th scope="col" class="py-1 pr-4">"CI run"</th>
                                        <th scope="col" class="py-1 pr-4">"Token"</th>
                                        <th scope="col" class="py-1 pr-4">"Scopes"</th>
                                        <th scope="col" class="py-1 pr-4">"Expires"</th>
                                        <th scope="col" class="py-1 pr-4">"Last used"</th>
                                        <th scope="col" class="py-1 pr-4">"Ended"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {d.exchanges.into_iter().map(|x| view! {
                                        <tr class="border-t border-slate-100 align-top">
                                            <td class="py-1 pr-4 whitespace-nowrap">{x.created_at.display_utc()}</td>
                                            <td class="py-1 pr-4">
                                                <span class="font-mono text-xs">{x.actor.clone()}</span>
                                                <details class="text-xs">
                                                    <summary class="cursor-pointer text-indigo-700">"Claims"</summary>
                                                    <ul class="font-mono">
                                                        {x.identity.iter().map(|(k, v)| view! { <li>{format!("{k}: {v}")}</li> }).collect_view()}
                                                    </ul>
                                                </details>
                                            </td>
                                            <td class="py-1 pr-4 font-mono text-xs">{x.prefix.clone()}</td>
                                            <td class="py-1 pr-4">{Scope::join(&x.scopes)}</td>
                                            <td class="py-1 pr-4 whitespace-nowrap">{x.expires_at.display_utc()}</td>
                                            <td class="py-1 pr-4">{format!("{}{}", when(x.last_used_at), x.last_used_ip.map(|ip| format!(" from {ip}")).unwrap_or_default())}</td>
                                            <td class="py-1 pr-4">{x.revoked_reason.unwrap_or_default()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn DeleteDialog(id: String, name: String, a: Actions) -> impl IntoView {
    let error = move || {
        a.delete
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    view! {
        <Dialog title_id="delete-rule-title" title="Delete this trust rule?">
            <p class="mt-2 font-medium">{name}</p>
            <p class="mt-2 text-sm text-slate-600">
                "Its live tokens stop working at once and its exchange history is deleted. Disable it instead to pause."
            </p>
            <p class="mt-2 text-sm text-red-700" role="alert">{error}</p>
            <div class="mt-6 flex justify-end gap-3">
                <button type="button" on:click=move |_| a.deleting.set(None)
                    class="rounded-md border border-slate-300 px-3 py-2 text-sm">"Cancel"</button>
                <ActionForm action=a.delete>
                    <input type="hidden" name="id" value=id/>
                    <button type="submit" class="rounded-md bg-red-700 px-3 py-2 text-sm font-semibold text-white hover:bg-red-800">
                        "Delete rule"
                    </button>
                </ActionForm>
            </div>
        </Dialog>
    }
}
