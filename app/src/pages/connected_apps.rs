//! Settings > Connected apps: one row per OAuth grant (an MCP host you
//! allowed), with when and from where it was last used, and Revoke. The
//! same table for an admin at Admin > Accounts > an account's apps.

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
                    <span class="font-medium">{a.client_name.clone()}</span>
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
