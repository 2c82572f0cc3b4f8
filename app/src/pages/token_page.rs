//! A token's own page (`/settings/api-keys/{id}`): what it is (name,
//! description, prefix, status, scopes, who created it, expiry, rotation
//! family), what it did (calls per day by outcome, its last 20 calls, the
//! IPs it came from), and what can be changed (name and description, IP
//! allowlist, projects, usage limit; rotate, revoke; its task tokens).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

use crate::{
    components::{action_error, usage_chart::UsageChart},
    pages::{
        project_choice::ProjectChoice,
        token_actions::{ErrorLine, NewTokenPanel, RevokeDialog, RotateDialog},
        token_limits::{TaskTokens, UsageLimitForm},
        token_list::{badge, revoked_note},
    },
    rpc::token_limits::{RevokeTaskTokens, SetTokenUsageLimit},
    rpc::tokens::{
        get_token_detail, RevokeToken, RotateToken, SetTokenAllowlist, SetTokenLabel,
        SetTokenProjects,
    },
    tokens::{
        usage::{Activity, RecentCall, SeenIp},
        CreatedToken, TokenDetail, TokenStatus,
    },
    types::relative,
};

/// The actions of the page, shared by its parts.
#[derive(Clone, Copy)]
struct Actions {
    label: ServerAction<SetTokenLabel>,
    allowlist: ServerAction<SetTokenAllowlist>,
    projects: ServerAction<SetTokenProjects>,
    revoke: ServerAction<RevokeToken>,
    rotate: ServerAction<RotateToken>,
    usage_limit: ServerAction<SetTokenUsageLimit>,
    task_revoke: ServerAction<RevokeTaskTokens>,
    /// Which dialog is open: `revoke` or `rotate`.
    dialog: RwSignal<Option<&'static str>>,
}

#[component]
pub fn TokenPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let actions = Actions {
        label: ServerAction::new(),
        allowlist: ServerAction::new(),
        projects: ServerAction::new(),
        revoke: ServerAction::new(),
        rotate: ServerAction::new(),
        usage_limit: ServerAction::new(),
        task_revoke: ServerAction::new(),
        dialog: RwSignal::new(None),
    };
    let shown = RwSignal::new(None::<CreatedToken>);
    let detail = Resource::new(
        move || {
            (
                id(),
                actions.label.version().get(),
                actions.allowlist.version().get(),
                actions.projects.version().get(),
                actions.revoke.version().get(),
                actions.rotate.version().get(),
                actions.usage_limit.version().get(),
                actions.task_revoke.version().get(),
            )
        },
        |(id, ..)| get_token_detail(id),
    );
    Effect::new(move |_| {
        if let Some(Ok(c)) = actions.rotate.value().get() {
            actions.dialog.set(None);
            shown.set(Some(c));
        }
    });
    Effect::new(move |_| {
        if actions.revoke.version().get() > 0 {
            actions.dialog.set(None);
        }
    });
    view! {
        <crate::components::SudoGate action=actions.allowlist/>
        <crate::components::SudoGate action=actions.projects/>
        <crate::components::SudoGate action=actions.rotate/>
        <crate::components::SudoGate action=actions.usage_limit/>
        <p class="text-sm"><A href="/settings/api-keys" attr:class="text-indigo-700 hover:underline">"API Keys"</A></p>
        {move || shown.get().map(|c| view! { <NewTokenPanel created=c on_done=move || shown.set(None)/> })}
        <Transition fallback=|| view! { <p class="mt-4 text-sm text-slate-500">"Loading token…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => view! { <TokenView detail=d actions=actions/> }.into_any(),
                    Err(e) => view! {
                        <Title text="Token not found · Preqstation"/>
                        <p class="mt-4 text-sm text-red-700" data-testid="token-error">{e.to_string()}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TokenView(detail: TokenDetail, actions: Actions) -> impl IntoView {
    let t = detail.view;
    let (badge_class, label) = badge(t.status);
    let active = t.status == TokenStatus::Active;
    let can_rotate = active && t.rotated_to.is_none();
    let audit_link = format!("/settings/audit-logs?token={}", t.prefix);
    let (id, name) = (t.id.clone(), t.name.clone());
    let (rotate_id, rotate_name) = (t.id.clone(), t.name.clone());
    let dialog = actions.dialog;
    let now = t.now;
    let no_family = detail.predecessor.is_none() && detail.successor.is_none();
    let expires = match t.expires_at {
        None => "Never".to_string(),
        Some(at) => format!("{} ({})", at.display_utc(), relative(at, now)),
    };
    let last_used = match t.last_used_at {
        None => "Never".to_string(),
        Some(at) => format!(
            "{} from {}",
            relative(at, now),
            t.last_used_ip.clone().unwrap_or_default()
        ),
    };
    let revoked = revoked_note(&t);
    let scopes = t.scopes.clone();
    let edit = active.then(|| t.clone());
    view! {
        <Title text=format!("{} · API Keys · Preqstation", t.name)/>
        <div class="mt-1 flex flex-wrap items-start justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold" data-testid="token-name">{t.name.clone()}</h1>
                <p class="mt-1 font-mono text-sm text-slate-600">{t.prefix.clone()}"…"</p>
                {t.description.clone().map(|d| view! { <p class="mt-1 max-w-2xl text-sm text-slate-600" data-testid="token-description">{d}</p> })}
            </div>
            <div class="flex gap-3">
                {can_rotate.then(|| view! {
                    <button type="button" class="rounded-md border border-slate-300 px-3 py-2 text-sm hover:bg-slate-50"
                        on:click=move |_| dialog.set(Some("rotate"))>"Rotate"</button>
                })}
                {active.then(|| view! {
                    <button type="button" class="rounded-md border border-red-300 px-3 py-2 text-sm text-red-700 hover:bg-red-50"
                        on:click=move |_| dialog.set(Some("revoke"))>"Revoke"</button>
                })}
            </div>
        </div>
        <dl class="mt-6 grid gap-x-6 gap-y-3 rounded-lg border border-slate-200 bg-white p-4 text-sm sm:grid-cols-2 lg:grid-cols-3">
            <Fact label="Status">
                <span class=format!("rounded px-1.5 py-0.5 text-xs font-medium {badge_class}") data-status=label>{label}</span>
                {revoked.map(|n| view! { <span class="ml-1 text-xs text-slate-500">{n}</span> })}
            </Fact>
            <Fact label="Scopes">
                {scopes.iter().map(|s| view! { <code class="mr-1 rounded bg-slate-100 px-1 text-xs">{s.as_str()}</code> }).collect::<Vec<_>>()}
            </Fact>
            <Fact label="Created">
                <span title=t.created_at.display_utc()>{t.created_at.display_utc()}</span>
                {detail.created_by.map(|by| view! { <span class="block text-xs text-slate-500" data-testid="created-by">"by "{by}</span> })}
            </Fact>
            <Fact label="Expires">{expires}</Fact>
            <Fact label="Last used">{last_used}</Fact>
            <Fact label="Rotation">
                {detail.predecessor.map(|p| view! {
                    <span class="block">"Rotated from "<a class="font-mono text-indigo-700 hover:underline" href=format!("/settings/api-keys/{}", p.id)>{p.prefix}</a></span>
                })}
                {detail.successor.map(|s| view! {
                    <span class="block">"Rotated to "<a class="font-mono text-indigo-700 hover:underline" data-testid="successor" href=format!("/settings/api-keys/{}", s.id)>{s.prefix}</a></span>
                })}
                {no_family.then_some("Not rotated")}
            </Fact>
        </dl>

        <section class="mt-8" aria-labelledby="usage-heading">
            <div class="flex items-baseline justify-between">
                <h2 id="usage-heading" class="text-lg font-semibold">"Usage"</h2>
                <a href=audit_link.clone() class="text-sm text-indigo-700 hover:underline">"All of this token's events in the audit log"</a>
            </div>
            <ActivityView activity=detail.activity/>
        </section>
        <UsageLimitForm id=t.id.clone() usage=detail.usage editable=active action=actions.usage_limit/>
        <TaskTokens subject=t.id.clone() tokens=detail.task_tokens now=now action=actions.task_revoke/>

        {edit.map(|t| view! { <EditForms token=t actions=actions/> })}
        <p class="mt-8 text-sm text-slate-600">
            "Setting up an agent with this token? "
            <a href="/docs/mcp" class="text-indigo-700 hover:underline">"MCP and agent setup"</a>
            " has ready-to-paste configurations for Claude Code, Codex, VS Code and stdio."
        </p>
        {move || (dialog.get() == Some("revoke")).then(|| view! {
            <RevokeDialog id=id.clone() name=name.clone() action=actions.revoke on_cancel=move || dialog.set(None)/>
        })}
        {move || (dialog.get() == Some("rotate")).then(|| view! {
            <RotateDialog id=rotate_id.clone() name=rotate_name.clone() action=actions.rotate on_cancel=move || dialog.set(None)/>
        })}
    }
}

#[component]
fn Fact(label: &'static str, children: Children) -> impl IntoView {
    view! {
        <div>
            <dt class="text-xs font-medium uppercase text-slate-500">{label}</dt>
            <dd class="mt-0.5">{children()}</dd>
        </div>
    }
}

/// The usage chart, last calls and IPs of a credential (an API key's page
/// and a connected app's).
#[component]
pub fn ActivityView(activity: Activity) -> impl IntoView {
    let cap = activity.ip_cap;
    view! {
        <UsageChart usage=activity.usage/>
        <h3 class="mt-6 font-medium">"Last calls"</h3>
        {if activity.calls.is_empty() {
            view! { <p class="mt-1 text-sm text-slate-500">"No calls recorded yet."</p> }.into_any()
        } else {
            view! { <CallTable calls=activity.calls/> }.into_any()
        }}
        <h3 class="mt-6 font-medium">"IP addresses"</h3>
        <p class="text-xs text-slate-500">{format!("The {cap} most recent are kept.")}</p>
        {if activity.ips.is_empty() {
            view! { <p class="mt-1 text-sm text-slate-500">"Not used from any IP yet."</p> }.into_any()
        } else {
            view! { <IpTable ips=activity.ips/> }.into_any()
        }}
    }
}

const TH: &str = "px-3 py-2";
const TD: &str = "px-3 py-2 align-top";

#[component]
fn CallTable(calls: Vec<RecentCall>) -> impl IntoView {
    view! {
        <div class="mt-2 overflow-x-auto rounded-lg border border-slate-200 bg-white">
            <table class="w-full text-left text-sm" data-testid="recent-calls">
                <thead class="bg-slate-50 text-xs uppercase text-slate-500">
                    <tr><th class=TH>"Time (UTC)"</th><th class=TH>"Call"</th><th class=TH>"Status"</th><th class=TH>"IP"</th><th class=TH>"Client"</th></tr>
                </thead>
                <tbody>
                    {calls.into_iter().map(|c| view! {
                        <tr class="border-t border-slate-100">
                            <td class=format!("{TD} whitespace-nowrap")>{c.at.display_utc()}</td>
                            <td class=format!("{TD} font-mono text-xs")>{c.method.unwrap_or_default()}" "{c.target}</td>
                            <td class=TD data-call-status=c.status.map(|s| s.to_string()).unwrap_or_default()>{c.status.map(|s| s.to_string()).unwrap_or_else(|| "—".into())}</td>
                            <td class=format!("{TD} font-mono text-xs")>{c.ip.unwrap_or_default()}</td>
                            <td class=format!("{TD} max-w-64 truncate text-xs text-slate-600")>{c.client.unwrap_or_default()}</td>
                        </tr>
                    }).collect::<Vec<_>>()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn IpTable(ips: Vec<SeenIp>) -> impl IntoView {
    view! {
        <div class="mt-2 overflow-x-auto rounded-lg border border-slate-200 bg-white">
            <table class="w-full text-left text-sm" data-testid="token-ips">
                <thead class="bg-slate-50 text-xs uppercase text-slate-500">
                    <tr><th class=TH>"IP"</th><th class=TH>"First seen"</th><th class=TH>"Last seen"</th><th class=format!("{TH} text-right")>"Calls"</th></tr>
                </thead>
                <tbody>
                    {ips.into_iter().map(|ip| view! {
                        <tr class="border-t border-slate-100" data-ip=ip.ip.clone()>
                            <td class=format!("{TD} font-mono text-xs")>
                                {ip.ip.clone()}
                                {ip.new.then(|| view! { <span class="ml-2 rounded bg-amber-100 px-1.5 py-0.5 text-xs text-amber-900" data-testid="new-ip">"New"</span> })}
                            </td>
                            <td class=TD>{ip.first_seen.display_utc()}</td>
                            <td class=TD>{ip.last_seen.map(|t| t.display_utc()).unwrap_or_else(|| "—".into())}</td>
                            <td class=format!("{TD} text-right")>{ip.calls}</td>
                        </tr>
                    }).collect::<Vec<_>>()}
                </tbody>
            </table>
        </div>
    }
}

/// Name and description, allowlist and projects: one form each.
#[component]
fn EditForms(token: crate::tokens::TokenView, actions: Actions) -> impl IntoView {
    let field = |e: Option<crate::error::AppError>, f: &str| e.and_then(|e| e.for_field(f));
    let label_err = move || actions.label.value().get().and_then(|r| r.err());
    let ips_err = move || actions.allowlist.value().get().and_then(|r| r.err());
    let projects_err = move || actions.projects.value().get().and_then(|r| r.err());
    let current_projects = token
        .projects
        .as_ref()
        .map(|ps| ps.iter().map(|p| p.id.clone()).collect::<Vec<_>>());
    let (id1, id2, id3) = (token.id.clone(), token.id.clone(), token.id.clone());
    let name = token.name.clone();
    let description = token.description.clone().unwrap_or_default();
    let ips = token.allowed_ips.join("\n");
    let input = "mt-1 block w-full max-w-md rounded-md border border-slate-300 px-3 py-2 text-sm";
    let save =
        "rounded-md bg-indigo-700 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-800";
    view! {
        <section class="mt-8 grid gap-6 lg:grid-cols-3" aria-label="Change this token">
            <ActionForm action=actions.label attr:class="rounded-lg border border-slate-200 bg-white p-4">
                <h2 class="font-semibold">"Name and description"</h2>
                <input type="hidden" name="id" value=id1.clone()/>
                <label class="mt-3 block text-sm font-medium" for="edit-name">"Name"</label>
                <input id="edit-name" name="name" class=input value=name.clone()/>
                <ErrorLine field="name" error=Signal::derive(move || field(label_err(), "name"))/>
                <label class="block text-sm font-medium" for="edit-token-description">"Description"</label>
                <textarea id="edit-token-description" name="description" rows="2" class=input>{description.clone()}</textarea>
                <ErrorLine field="description" error=Signal::derive(move || field(label_err(), "description"))/>
                <button type="submit" class=save>"Save name"</button>
            </ActionForm>
            <ActionForm action=actions.allowlist attr:class="rounded-lg border border-slate-200 bg-white p-4">
                <h2 class="font-semibold">"Allowed IPs"</h2>
                <input type="hidden" name="id" value=id2.clone()/>
                <label class="mt-3 block text-sm font-medium" for="edit-allowed-ips">"Allowed IPs"</label>
                <textarea id="edit-allowed-ips" name="allowed_ips" rows="3" placeholder="e.g. 203.0.113.0/24, 2001:db8::/32"
                    class=format!("{input} font-mono")>{ips.clone()}</textarea>
                <p class="mt-1 text-xs text-slate-500">"Addresses or CIDR networks; empty allows any IP. Calls from elsewhere get 403."</p>
                <ErrorLine field="allowed_ips" error=Signal::derive(move || field(ips_err(), "allowed_ips"))/>
                <p class="text-sm text-red-700">{move || ips_err().and_then(|e| e.general())}</p>
                <button type="submit" class=save>"Save allowed IPs"</button>
            </ActionForm>
            <ActionForm action=actions.projects attr:class="rounded-lg border border-slate-200 bg-white p-4">
                <h2 class="mb-3 font-semibold">"Projects"</h2>
                <input type="hidden" name="id" value=id3.clone()/>
                <ProjectChoice error=Signal::derive(move || field(projects_err(), "projects")) current=current_projects.clone()/>
                <button type="submit" class=format!("mt-3 {save}")>"Save projects"</button>
            </ActionForm>
        </section>
        <p class="mt-2 text-sm text-red-700">{action_error(actions.label)}</p>
    }
}
