//! Settings > Connected apps: one row per OAuth grant (an MCP host you
//! allowed), with when and from where it was last used, and Revoke. The
//! same table for an admin at Admin > Accounts > an account's apps. An
//! app's name opens its page (`/settings/connected-apps/{id}`): what it
//! may reach and what it did, as an API key's page shows it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::{
    components::{table::ROW, Column, DataTable},
    oauth::consent::{connected_apps, ConnectedApp, RevokeApp},
};

#[component]
pub fn ConnectedAppsPage() -> impl IntoView {
    view! {
        <Title text="Connected apps · Preqstation"/>
        <h1 class="text-2xl font-semibold">"Connected apps"</h1>
        <p class="mt-1 max-w-2xl text-sm text-slate-600">
            "Applications you allowed through OAuth (for example an MCP host such as Claude). Revoking one ends its access at once."
        </p>
        <Apps account=None/>
    }
}

/// Admin > Accounts > one account's connected apps.
#[component]
pub fn AccountAppsPage() -> impl IntoView {
    let account = use_params_map().read_untracked().get("id");
    view! {
        <Title text="Connected apps of an account · Preqstation"/>
        <h1 class="text-2xl font-semibold">"Connected apps of this account"</h1>
        <p class="mt-1 text-sm">
            <a href="/admin/accounts" class="text-indigo-700 hover:underline">"← Accounts"</a>
        </p>
        <Apps account=account/>
    }
}

#[component]
fn Apps(account: Option<String>) -> impl IntoView {
    let revoke = ServerAction::<RevokeApp>::new();
    let who = account.clone();
    let apps = Resource::new(
        move || revoke.version().get(),
        move |_| connected_apps(who.clone()),
    );
    let error = move || {
        revoke
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    view! {
        <Show when=move || error().is_some()>
            <p role="alert" class="mt-4 text-sm text-red-700">{error}</p>
        </Show>
        <Transition fallback=|| view! { <p class="mt-6 text-sm text-slate-500">"Loading…"</p> }>
            {move || {
                let account = account.clone();
                Suspend::new(async move {
                    match apps.await {
                        Ok(list) => view! { <AppTable list=list revoke=revoke account=account/> }.into_any(),
                        Err(e) => view! { <p class="mt-6 text-sm text-red-700">{e.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

const COLUMNS: &[Column] = &[
    Column::new("Application"),
    Column::new("Scopes"),
    Column::new("Connected"),
    Column::new("Last used"),
    Column::hidden("Actions"),
];

#[component]
fn AppTable(
    list: Vec<ConnectedApp>,
    revoke: ServerAction<RevokeApp>,
    account: Option<String>,
) -> impl IntoView {
    let row = move |a: ConnectedApp| {
        let id = a.id.clone();
        let account = account.clone();
        view! {
            <tr class=ROW data-grant=a.id.clone()>
                <td class="px-4 py-2">
                    {if account.is_none() {
                        view! { <a href=format!("/settings/connected-apps/{}", a.id) class="font-medium text-indigo-800 hover:underline">{a.client_name.clone()}</a> }.into_any()
                    } else {
                        view! { <span class="font-medium">{a.client_name.clone()}</span> }.into_any()
                    }}
                    <span class="block text-xs text-slate-500">{a.client_source.clone()}</span>
                </td>
                <td class="px-4 py-2 font-mono text-xs">{a.scopes.join(" ")}</td>
                <td class="px-4 py-2">{a.created_at.clone()}</td>
                <td class="px-4 py-2">{a.last_used.clone().unwrap_or_else(|| "never".into())}</td>
                <td class="px-4 py-2 text-right">
                    <ActionForm action=revoke>
                        <input type="hidden" name="id" value=id/>
                        {account.map(|a| view! { <input type="hidden" name="account" value=a/> })}
                        <button type="submit" class="text-sm text-red-700 hover:underline">"Revoke"</button>
                    </ActionForm>
                </td>
            </tr>
        }
    };
    view! { <DataTable columns=COLUMNS rows=list row=row label="Connected apps" empty="No connected apps."/> }
}

/// One connected app: its scopes and projects, and its calls per day, last
/// calls and IPs (the same parts as an API key's page).
#[component]
pub fn AppPage() -> impl IntoView {
    let params = use_params_map();
    let revoke = ServerAction::<RevokeApp>::new();
    let task_revoke = ServerAction::<crate::rpc::token_limits::RevokeTaskTokens>::new();
    let detail = Resource::new(
        move || {
            (
                params.read().get("id").unwrap_or_default(),
                revoke.version().get(),
                task_revoke.version().get(),
            )
        },
        |(id, _, _)| crate::oauth::consent::get_app_detail(id),
    );
    view! {
        <p class="text-sm"><a href="/settings/connected-apps" class="text-indigo-700 hover:underline">"Connected apps"</a></p>
        <Transition fallback=|| view! { <p class="mt-4 text-sm text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => {
                        let projects = match &d.projects {
                            None => "All projects".to_string(),
                            Some(ps) => ps.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", "),
                        };
                        let id = d.app.id.clone();
                        let subject = d.app.id.clone();
                        view! {
                            <Title text=format!("{} · Connected apps · Preqstation", d.app.client_name)/>
                            <div class="mt-1 flex flex-wrap items-start justify-between gap-4">
                                <div>
                                    <h1 class="text-2xl font-semibold" data-testid="app-name">{d.app.client_name.clone()}</h1>
                                    <p class="text-sm text-slate-600">{d.app.client_source.clone()}</p>
                                </div>
                                <ActionForm action=revoke>
                                    <input type="hidden" name="id" value=id/>
                                    <button type="submit" class="rounded-md border border-red-300 px-3 py-2 text-sm text-red-700 hover:bg-red-50">"Revoke"</button>
                                </ActionForm>
                            </div>
                            <dl class="mt-6 grid gap-x-6 gap-y-3 rounded-lg border border-slate-200 bg-white p-4 text-sm sm:grid-cols-2">
                                <div><dt class="text-xs font-medium uppercase text-slate-500">"Scopes"</dt><dd class="font-mono text-xs">{d.app.scopes.join(" ")}</dd></div>
                                <div><dt class="text-xs font-medium uppercase text-slate-500">"Projects"</dt><dd data-testid="app-projects">{projects}</dd></div>
                                <div><dt class="text-xs font-medium uppercase text-slate-500">"Connected"</dt><dd>{d.app.created_at.clone()}</dd></div>
                                <div><dt class="text-xs font-medium uppercase text-slate-500">"Last used"</dt><dd>{d.app.last_used.clone().unwrap_or_else(|| "never".into())}</dd></div>
                            </dl>
                            <h2 class="mt-8 text-lg font-semibold">"Usage"</h2>
                            <crate::pages::token_page::ActivityView activity=d.activity/>
                            <crate::pages::token_limits::TaskTokens subject=subject tokens=d.task_tokens now=d.now action=task_revoke/>
                        }.into_any()
                    }
                    Err(e) => view! {
                        <Title text="Connected app not found · Preqstation"/>
                        <p class="mt-4 text-sm text-red-700">{e.to_string()}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
