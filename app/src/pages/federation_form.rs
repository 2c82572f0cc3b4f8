//! Settings > Federation, the rule forms (adding one, changing one: the
//! same fields): the issuer (a preset or any OIDC issuer), the ids a preset
//! pins, further claim conditions, the fork-event opt-in with its warning,
//! and what the issued tokens may do. Named as the server functions'
//! arguments; each field's error shows by the field.

use leptos::prelude::*;

use super::{
    federation::Actions,
    webhooks::{BUTTON, SECONDARY},
};
use crate::{
    components::FormAlert,
    error::AppError,
    federation::{Provider, RuleView, DEFAULT_TTL_SECS, MAX_TTL_SECS},
    pages::{project_choice::ProjectChoice, token_actions::ErrorLine, webhooks::general},
    tokens::Scope,
};

const CARD: &str = "mt-6 rounded-lg border border-slate-200 bg-white p-6 shadow-sm";
const INPUT: &str =
    "mt-1 block w-full max-w-xl rounded-md border border-slate-300 px-3 py-2 text-sm";

/// The "+ New rule" form.
#[component]
pub fn RuleForm(a: Actions) -> impl IntoView {
    let err = Signal::derive(move || a.create.value().get().and_then(|r| r.err()));
    view! {
        <section class=CARD aria-labelledby="new-rule-heading">
            <h2 id="new-rule-heading" class="text-lg font-semibold">"New trust rule"</h2>
            <div class="mt-4">
                <FormAlert message=Signal::derive(move || general(err.get()))/>
            </div>
            <ActionForm action=a.create>
                <RuleFields prefix="new" current=None err=err/>
                <button type="submit" class=format!("mt-5 {BUTTON}") disabled=move || a.create.pending().get()>
                    {move || if a.create.pending().get() { "Adding…" } else { "Add rule" }}
                </button>
            </ActionForm>
        </section>
    }
}

/// A rule's "Change" form, filled in with what it has now.
#[component]
pub fn EditRuleForm(rule: RuleView, a: Actions) -> impl IntoView {
    let err = Signal::derive(move || a.update.value().get().and_then(|r| r.err()));
    view! {
        <div class="mt-4 border-t border-slate-100 pt-4">
            <FormAlert message=Signal::derive(move || general(err.get()))/>
            <ActionForm action=a.update>
                <input type="hidden" name="id" value=rule.id.clone()/>
                <RuleFields prefix="edit" current=Some(rule) err=err/>
                <div class="mt-5 flex gap-3">
                    <button type="submit" class=BUTTON>"Save changes"</button>
                    <button type="button" class=SECONDARY on:click=move |_| a.editing.set(None)>"Cancel"</button>
                </div>
            </ActionForm>
        </div>
    }
}

/// The fields of both forms; `current` fills them in.
#[component]
fn RuleFields(
    prefix: &'static str,
    current: Option<RuleView>,
    #[prop(into)] err: Signal<Option<AppError>>,
) -> impl IntoView {
    let id = move |f: &str| format!("rule-{prefix}-{f}");
    let field = move |f: &'static str| {
        Signal::derive(move || err.get().and_then(|e: AppError| e.for_field(f)))
    };
    let kind = current
        .as_ref()
        .map_or("github_actions", |r| match r.provider {
            Provider::GithubActions => "github_actions",
            Provider::Gitlab => "gitlab",
            Provider::Custom => "custom",
        });
    let provider = RwSignal::new(kind.to_string());
    let pinned = current
        .as_ref()
        .map(|r| r.provider.pinned())
        .unwrap_or_default();
    let value_of = |claim: Option<&&str>| {
        current
            .as_ref()
            .and_then(|r| {
                r.conditions
                    .iter()
                    .find(|c| Some(&c.claim.as_str()) == claim)
            })
            .map(|c| c.pattern.clone())
            .unwrap_or_default()
    };
    let (owner_id, repo_id) = (value_of(pinned.first()), value_of(pinned.get(1)));
    let others = current
        .as_ref()
        .map(|r| {
            r.conditions
                .iter()
                .filter(|c| !pinned.contains(&c.claim.as_str()))
                .map(|c| format!("{}={}", c.claim, c.pattern))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    let name = current.as_ref().map(|r| r.name.clone()).unwrap_or_default();
    let issuer = current
        .as_ref()
        .filter(|r| r.provider == Provider::Custom)
        .map(|r| r.issuer.clone())
        .unwrap_or_default();
    let has = |s: Scope| {
        current
            .as_ref()
            .map_or(s != Scope::WorklogsWrite, |r| r.scopes.contains(&s))
    };
    let fork_on = current.as_ref().is_some_and(|r| r.allow_fork_events);
    let fork = RwSignal::new(fork_on);
    let ips = current
        .as_ref()
        .map(|r| r.allowed_ips.join("\n"))
        .unwrap_or_default();
    let lifetime = current
        .as_ref()
        .map(|r| (r.ttl_secs / 60).to_string())
        .unwrap_or_default();
    let limit = current
        .as_ref()
        .and_then(|r| r.usage_limit)
        .map(|n| n.to_string())
        .unwrap_or_default();
    let projects = current.as_ref().and_then(|r| r.projects.clone());
    let (owner_label, repo_label, ids_help) = (
        move || match provider.get().as_str() {
            "gitlab" => "Namespace ID (namespace_id)",
            _ => "Repository owner ID (repository_owner_id)",
        },
        move || match provider.get().as_str() {
            "gitlab" => "Project ID (project_id)",
            _ => "Repository ID (repository_id)",
        },
        move || match provider.get().as_str() {
            "gitlab" => {
                "The project's overview page shows its ID; the group's page shows the namespace ID."
            }
            _ => "gh api repos/OWNER/REPO --jq '.owner.id, .id' prints both.",
        },
    );
    view! {
        <div class="grid gap-5">
            <div>
                <label for=id("name") class="block text-sm font-medium">"Name"</label>
                <input id=id("name") name="name" type="text" required maxlength="100" autocomplete="off" value=name
                    placeholder="e.g. deploy from main" class=INPUT/>
                <ErrorLine field="rule_name" error=field("rule_name")/>
            </div>
            <div>
                <label for=id("provider") class="block text-sm font-medium">"Issuer"</label>
                <select id=id("provider") name="provider" class=INPUT
                    on:change=move |ev| provider.set(event_target_value(&ev))>
                    <option value="github_actions" selected=kind == "github_actions">"GitHub Actions (token.actions.githubusercontent.com)"</option>
                    <option value="gitlab" selected=kind == "gitlab">"GitLab.com (gitlab.com)"</option>
                    <option value="custom" selected=kind == "custom">"Other OIDC issuer"</option>
                </select>
                <Show when=move || provider.get() == "custom">
                    <label for=id("issuer") class="mt-3 block text-sm font-medium">"Issuer URL"</label>
                    <input id=id("issuer") name="issuer" type="url" autocomplete="off" aria-describedby=id("issuer-help")
                        value=issuer.clone() placeholder="https://gitlab.example.com" class=INPUT/>
                    <p id=id("issuer-help") class="mt-1 text-xs text-slate-500">
                        "Its /.well-known/openid-configuration must name exactly this issuer."
                    </p>
                </Show>
                <ErrorLine field="issuer" error=field("issuer")/>
            </div>
            <Show when=move || provider.get() != "custom">
                <div class="grid gap-4 sm:grid-cols-2">
                    <div>
                        <label for=id("owner-id") class="block text-sm font-medium">{owner_label}</label>
                        <input id=id("owner-id") name="owner_id" type="text" inputmode="numeric" autocomplete="off"
                            value=owner_id.clone() aria-describedby=id("ids-help") class=INPUT/>
                    </div>
                    <div>
                        <label for=id("repo-id") class="block text-sm font-medium">{repo_label}</label>
                        <input id=id("repo-id") name="repo_id" type="text" inputmode="numeric" autocomplete="off"
                            value=repo_id.clone() aria-describedby=id("ids-help") class=INPUT/>
                    </div>
                    <p id=id("ids-help") class="text-xs text-slate-500 sm:col-span-2">
                        "Numeric ids, required: a name can be taken again after a repository or group is deleted, an id never. "
                        {ids_help}
                    </p>
                </div>
            </Show>
            <div>
                <label for=id("conditions") class="block text-sm font-medium">
                    "Further conditions " <span class="font-normal text-slate-500">"(one claim=value a line)"</span>
                </label>
                <textarea id=id("conditions") name="conditions" rows="3" aria-describedby=id("conditions-help")
                    placeholder="ref=refs/heads/main\nenvironment=production"
                    class=format!("{INPUT} font-mono")>{others}</textarea>
                <p id=id("conditions-help") class="mt-1 text-xs text-slate-500">
                    "Exact, or a glob: * within a path segment (refs/heads/release/*), ** across, ? one character. "
                    "No glob in the owner part (before the first /) of sub, repository, workflow_ref or project_path."
                </p>
                <ErrorLine field="conditions" error=field("conditions")/>
            </div>
            <div>
                <label class="flex items-center gap-2 text-sm">
                    <input type="checkbox" name="allow_fork_events" value="on" checked=fork_on
                        on:change=move |ev| fork.set(event_target_checked(&ev))/>
                    "Allow pull_request_target and workflow_run events"
                </label>
                <p class=move || format!("mt-1 rounded-md px-3 py-2 text-xs {}",
                        if fork.get() { "border border-amber-300 bg-amber-50 text-amber-900" } else { "text-slate-600" })
                    data-testid="fork-warning">
                    "These events run code a fork can influence with the repository's own identity and ID token. "
                    "Leave this off unless the workflow never runs a fork's code."
                </p>
            </div>
            <fieldset>
                <legend class="text-sm font-medium">"Scopes of the issued tokens"</legend>
                <div class="mt-2 grid gap-1 text-sm sm:grid-cols-2">
                    <label class="flex items-center gap-2"><input type="checkbox" name="scope_projects_read" value="on" checked=has(Scope::ProjectsRead)/>"projects:read"</label>
                    <label class="flex items-center gap-2"><input type="checkbox" name="scope_tasks_read" value="on" checked=has(Scope::TasksRead)/>"tasks:read"</label>
                    <label class="flex items-center gap-2"><input type="checkbox" name="scope_tasks_write" value="on" checked=has(Scope::TasksWrite)/>"tasks:write"</label>
                    <label class="flex items-center gap-2"><input type="checkbox" name="scope_worklogs_write" value="on" checked=has(Scope::WorklogsWrite)/>"worklogs:write"</label>
                </div>
                <ErrorLine field="scopes" error=field("scopes")/>
            </fieldset>
            <ProjectChoice error=field("projects") current=projects/>
            <div>
                <label for=id("ips") class="block text-sm font-medium">
                    "IP allowlist " <span class="font-normal text-slate-500">"(optional)"</span>
                </label>
                <textarea id=id("ips") name="allowed_ips" rows="2" placeholder="203.0.113.0/24"
                    aria-describedby=id("ips-help") class=format!("{INPUT} font-mono")>{ips}</textarea>
                <p id=id("ips-help") class="mt-1 text-xs text-slate-500">"Self-hosted runners' networks; GitHub-hosted runners have no fixed addresses."</p>
                <ErrorLine field="allowed_ips" error=field("allowed_ips")/>
            </div>
            <div class="grid gap-4 sm:grid-cols-2">
                <div>
                    <label for=id("lifetime") class="block text-sm font-medium">"Lifetime (minutes)"</label>
                    <input id=id("lifetime") name="lifetime_minutes" type="number" min="1" max=MAX_TTL_SECS / 60 value=lifetime
                        placeholder=(DEFAULT_TTL_SECS / 60).to_string() class="mt-1 w-28 rounded-md border border-slate-300 px-3 py-2 text-sm"/>
                    <ErrorLine field="lifetime" error=field("lifetime")/>
                </div>
                <div>
                    <label for=id("limit") class="block text-sm font-medium">
                        "Usage limit " <span class="font-normal text-slate-500">"(calls per token, optional)"</span>
                    </label>
                    <input id=id("limit") name="usage_limit" type="number" min="1" value=limit
                        class="mt-1 w-40 rounded-md border border-slate-300 px-3 py-2 text-sm"/>
                    <ErrorLine field="usage_limit" error=field("usage_limit")/>
                </div>
            </div>
        </div>
    }
}
