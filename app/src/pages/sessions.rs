//! Settings > Sessions: where the account is signed in, with the means to
//! end any session or all the others.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    components::{table::ROW, Column, DataTable},
    rpc::sessions::{list_sessions, RevokeOtherSessions, RevokeSession},
    sessions::SessionView,
};

#[component]
pub fn SessionsPage() -> impl IntoView {
    let revoke = ServerAction::<RevokeSession>::new();
    let revoke_others = ServerAction::<RevokeOtherSessions>::new();
    let sessions = Resource::new(
        move || (revoke.version().get(), revoke_others.version().get()),
        |_| list_sessions(),
    );
    let error = move || {
        revoke
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| revoke_others.value().get().and_then(|r| r.err()))
            .map(|e| e.to_string())
    };
    view! {
        <Title text="Sessions · Preqstation"/>
        <div class="flex items-start justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold">"Sessions"</h1>
                <p class="mt-1 text-sm text-slate-600">
                    "Browsers signed in to your account. A session ends after a day without use, and after 7 days at most."
                </p>
            </div>
            <ActionForm action=revoke_others>
                <button type="submit" class="rounded-md border border-red-300 px-3 py-2 text-sm text-red-700 hover:bg-red-50">
                    "Sign out all other sessions"
                </button>
            </ActionForm>
        </div>
        <Show when=move || error().is_some()>
            <p role="alert" class="mt-4 text-sm text-red-700">{error}</p>
        </Show>
        <Transition fallback=|| view! { <p class="mt-6 text-sm text-slate-500">"Loading sessions…"</p> }>
            {move || Suspend::new(async move {
                match sessions.await {
                    Ok(list) => view! { <SessionTable list=list revoke=revoke/> }.into_any(),
                    Err(e) => view! { <p class="mt-6 text-sm text-red-700">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

const COLUMNS: &[Column] = &[
    Column::new("Browser"),
    Column::new("IP address"),
    Column::new("Signed in"),
    Column::new("Last active"),
    Column::hidden("Actions"),
];

#[component]
fn SessionTable(list: Vec<SessionView>, revoke: ServerAction<RevokeSession>) -> impl IntoView {
    let row = move |s: SessionView| {
        let id = s.id.clone();
        view! {
            <tr class=ROW data-session=s.id.clone()>
                <td class="px-4 py-2">
                    {s.browser.clone()}
                    {s.is_current.then(|| view! { <span class="ml-2 rounded bg-green-100 px-1.5 py-0.5 text-xs text-green-800">"This browser"</span> })}
                </td>
                <td class="px-4 py-2 font-mono text-xs">{s.ip.clone().unwrap_or_else(|| "unknown".into())}</td>
                <td class="px-4 py-2">{s.created_at.display_utc()}</td>
                <td class="px-4 py-2">{s.last_seen_at.display_utc()}</td>
                <td class="px-4 py-2 text-right">
                    <ActionForm action=revoke>
                        <input type="hidden" name="id" value=id/>
                        <button type="submit" class="text-sm text-red-700 hover:underline">
                            {if s.is_current { "Sign out" } else { "Revoke" }}
                        </button>
                    </ActionForm>
                </td>
            </tr>
        }
    };
    view! { <DataTable columns=COLUMNS rows=list row=row label="Sessions" empty="No active sessions."/> }
}
