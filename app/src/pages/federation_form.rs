//! Settings > Federation, the rule form: the issuer (a preset or any OIDC
//! issuer), the ids a preset pins, further claim conditions, the fork-event
//! opt-in with its warning, and what the issued tokens may do. Named as the
//! server functions' arguments; each field's error shows by the field.

use leptos::prelude::*;

use super::{federation::Actions, webhooks::BUTTON};
use crate::{
    components::FormAlert,
    error::AppError,
    federation::{DEFAULT_TTL_SECS, MAX_TTL_SECS},
    pages::{project_choice::ProjectChoice, token_actions::ErrorLine, webhooks::general},
};

const CARD: &str = "mt-6 rounded-lg border border-slate-200 bg-white p-6 shadow-sm";
const INPUT: &str =
    "mt-1 block w-full max-w-xl rounded-md border border-slate-300 px-3 py-2 text-sm";

/// The "+ New rule" form.
#[component]
pub fn RuleForm(a: Actions) -> impl IntoView {
    let err = Signal::derive(move || a.create.value().get().and_then(|r| r.err()));
    let field = move |f: &'static str| {
        Signal::derive(move || err.get().and_then(|e: AppError| e.for_field(f)))
    };
    let provider = RwSignal::new("github_actions".to_string());
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
    let fork = RwSignal::new(false);
    view! {
        <section class=CARD aria-labelledby="new-rule-heading">
            <h2 id="new-rule-heading" class="text-lg font-semibold">"New trust rule"</h2>
            <div class="mt-4">
                <FormAlert message=Signal::derive(move || general(err.get()))/>
            </div>
            <ActionForm action=a.create>
                <div class="grid gap-5">
                    <div>
                        <label for="rule-name" class="block text-sm font-medium">"Name"</label>
                        <input id="rule-name" name="name" type="text" required maxlength="100" autocomplete="off"
                            placeholder="e.g. deploy from main" class=INPUT/>
                        <ErrorLine field="rule_name" error=field("rule_name")/>
                    </div>
                    <div>
                        <label for="rule-provider" class="block text-sm font-medium">"Issuer"</label>
                        <select id="rule-provider" name="provider" class=INPUT
                            on:change=move |ev| provider.set(event_target_value(&ev))>
                            <option value="github_actions" selected=true>"GitHub Actions (token.actions.githubusercontent.com)"</option>
                            <option value="gitlab">"GitLab.com (gitlab.com)"</option>
                            <option value="custom">"Other OIDC issuer"</option>
                        </select>
                        <Show when=move || provider.get() == "custom">
                            <label for="rule-issuer" class="mt-3 block text-sm font-medium">"Issuer URL"</label>
                            <input id="rule-issuer" name="issuer" type="url" autocomplete="off" aria-describedby="rule-issuer-help"
                                placeholder="https://gitlab.example.com" class=INPUT/>
                            <p id="rule-issuer-help" class="mt-1 text-xs text-slate-500">
                                "Its /.well-known/openid-configuration must name exactly this issuer."
                            </p>
                        </Show>
                        <ErrorLine field="issuer" error=field("issuer")/>
                    </div>
                    <Show when=move || provider.get() != "custom">
                        <div class="grid gap-4 sm:grid-cols-2">
                            <div>
                                <label for="rule-owner-id" class="block text-sm font-medium">{owner_label}</label>
                                <input id="rule-owner-id" name="owner_id" type="text" inputmode="numeric" autocomplete="off"
                                    aria-describedby="rule-ids-help" class=INPUT/>
                            </div>
                            <div>
                                <label for="rule-repo-id" class="block text-sm font-medium">{repo_label}</label>
                                <input id="rule-repo-id" name="repo_id" type="text" inputmode="numeric" autocomplete="off"
                                    aria-describedby="rule-ids-help" class=INPUT/>
                            </div>
                            <p id="rule-ids-help" class="text-xs text-slate-500 sm:col-span-2">
                                "Numeric ids, required: a name can be taken again after a repository or group is deleted, an id never. "
                                {ids_help}
                            </p>
                        </div>
                    </Show>
                    <div>
                        <label for="rule-conditions" class="block text-sm font-medium">
                            "Further conditions " <span class="font-normal text-slate-500">"(one claim=value a line)"</span>
                        </label>
                        <textarea id="rule-conditions" name="conditions" rows="3" aria-describedby="rule-conditions-help"
                            placeholder="ref=refs/heads/main\nenvironment=production"
                            class=format!("{INPUT} font-mono")></textarea>
                        <p id="rule-conditions-help" class="mt-1 text-xs text-slate-500">
                            "Exact, or a glob: * within a path segment (refs/heads/release/*), ** across, ? one character. "
                            "No glob in the owner part (before the first /) of sub, repository, workflow_ref or project_path."
                        </p>
                        <ErrorLine field="conditions" error=field("conditions")/>
                    </div>
                    <div>
                        <label class="flex items-center gap-2 text-sm">
                            <input type="checkbox" name="allow_fork_events" value="on"
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
                            <label class="flex items-center gap-2"><input type="checkbox" name="scope_projects_read" value="on" checked=true/>"projects:read"</label>
                            <label class="flex items-center gap-2"><input type="checkbox" name="scope_tasks_read" value="on" checked=true/>"tasks:read"</label>
                            <label class="flex items-center gap-2"><input type="checkbox" name="scope_tasks_write" value="on" checked=true/>"tasks:write"</label>
                            <label class="flex items-center gap-2"><input type="checkbox" name="scope_worklogs_write" value="on"/>"worklogs:write"</label>
                        </div>
                        <ErrorLine field="scopes" error=field("scopes")/>
                    </fieldset>
                    <ProjectChoice error=field("projects")/>
                    <div>
                        <label for="rule-ips" class="block text-sm font-medium">
                            "IP allowlist " <span class="font-normal text-slate-500">"(optional)"</span>
                        </label>
                        <textarea id="rule-ips" name="allowed_ips" rows="2" placeholder="203.0.113.0/24"
                            aria-describedby="rule-ips-help" class=format!("{INPUT} font-mono")></textarea>
                        <p id="rule-ips-help" class="mt-1 text-xs text-slate-500">"Self-hosted runners' networks; GitHub-hosted runners have no fixed addresses."</p>
                        <ErrorLine field="allowed_ips" error=field("allowed_ips")/>
                    </div>
                    <div class="grid gap-4 sm:grid-cols-2">
                        <div>
                            <label for="rule-lifetime" class="block text-sm font-medium">"Lifetime (minutes)"</label>
                            <input id="rule-lifetime" name="lifetime_minutes" type="number" min="1" max=MAX_TTL_SECS / 60
                                placeholder=(DEFAULT_TTL_SECS / 60).to_string() class="mt-1 w-28 rounded-md border border-slate-300 px-3 py-2 text-sm"/>
                            <ErrorLine field="lifetime" error=field("lifetime")/>
                        </div>
                        <div>
                            <label for="rule-limit" class="block text-sm font-medium">
                                "Usage limit " <span class="font-normal text-slate-500">"(calls per token, optional)"</span>
                            </label>
                            <input id="rule-limit" name="usage_limit" type="number" min="1" class="mt-1 w-40 rounded-md border border-slate-300 px-3 py-2 text-sm"/>
                            <ErrorLine field="usage_limit" error=field("usage_limit")/>
                        </div>
                    </div>
                </div>
                <button type="submit" class=format!("mt-5 {BUTTON}") disabled=move || a.create.pending().get()>
                    {move || if a.create.pending().get() { "Adding…" } else { "Add rule" }}
                </button>
            </ActionForm>
        </section>
    }
}
