//! Admin > Credentials: every account's API keys and connected apps, with
//! filters and a search by prefix or whole token (so a token found in a
//! log is traced to its owner at once), and an administrator's revoke.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    components::{action_error, table::ROW, Column, DataTable, Dialog},
    pages::token_list::badge,
    rpc::credentials::{list_credentials, AdminRevokeCredential},
    tokens::{
        inventory::{Credential, Filter},
        TokenStatus,
    },
};

#[component]
pub fn AdminCredentialsPage() -> impl IntoView {
    let revoke = ServerAction::<AdminRevokeCredential>::new();
    let filter = RwSignal::new(String::from("all"));
    let status = RwSignal::new(String::from("active"));
    let search = RwSignal::new(String::new());
    let confirming = RwSignal::new(None::<Credential>);
    let list = Resource::new(
        move || {
            (
                filter.get(),
                status.get(),
                search.get(),
                revoke.version().get(),
            )
        },
        |(f, s, q, _)| list_credentials(Some(f), Some(s), Some(q)),
    );
    Effect::new(move |_| {
        if let Some(Ok(_)) = revoke.value().get() {
            confirming.set(None);
        }
    });
    let select = "rounded-md border border-slate-300 bg-white px-2 py-1 text-sm";
    view! {
        <crate::components::SudoGate action=revoke/>
        <Title text="Credentials · Preqstation"/>
        <h1 class="text-2xl font-semibold">"Credentials"</h1>
        <p class="mt-1 max-w-2xl text-sm text-slate-600">
            "Every account's API keys and connected apps. Paste a prefix or a whole token found in a log to see whose it is; "
            "a whole token is compared by its hash and never stored."
        </p>
        <form class="mt-6 flex flex-wrap items-end gap-3" on:submit=|ev| ev.prevent_default()>
            <label class="text-sm">
                <span class="block font-medium">"Search"</span>
                <input name="search" type="search" placeholder="preq_AbC123…" autocomplete="off"
                    class="mt-1 w-64 rounded-md border border-slate-300 px-2 py-1 font-mono text-sm"
                    on:change=move |ev| search.set(event_target_value(&ev))/>
            </label>
            <label class="text-sm">
                <span class="block font-medium">"Show"</span>
                <select name="filter" class=format!("mt-1 {select}") on:change=move |ev| filter.set(event_target_value(&ev))>
                    <option value="all">"Everything"</option>
                    {Filter::ALL.into_iter().map(|f| view! { <option value=f.as_str()>{f.label()}</option> }).collect::<Vec<_>>()}
                </select>
            </label>
            <label class="text-sm">
                <span class="block font-medium">"Status"</span>
                <select name="status" class=format!("mt-1 {select}") on:change=move |ev| status.set(event_target_value(&ev))>
                    <option value="active" selected=true>"Active"</option>
                    <option value="expired">"Expired"</option>
                    <option value="revoked">"Revoked"</option>
                    <option value="all">"All"</option>
                </select>
            </label>
        </form>
        <Transition fallback=|| view! { <p class="mt-4 text-sm text-slate-500">"Loading credentials…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(rows) => view! { <CredentialTable rows=rows confirming=confirming/> }.into_any(),
                    Err(e) => crate::components::refusal(e),
                }
            })}
        </Transition>
        {move || confirming.get().map(|c| view! { <RevokeCredential credential=c action=revoke on_cancel=move || confirming.set(None)/> })}
    }
}

const COLUMNS: &[Column] = &[
    Column::new("Owner"),
    Column::new("Credential"),
    Column::new("Scopes"),
    Column::new("Created"),
    Column::new("Expires"),
    Column::new("Last used"),
    Column::new("IPs"),
    Column::new("Status"),
    Column::hidden("Actions"),
];

#[component]
fn CredentialTable(
    rows: Vec<Credential>,
    confirming: RwSignal<Option<Credential>>,
) -> impl IntoView {
    let row = move |c: Credential| {
        let (badge_class, label) = badge(c.status);
        let active = c.status == TokenStatus::Active;
        let allowlist = if c.allowed_ips.is_empty() {
            "any IP".to_string()
        } else {
            format!("only {}", c.allowed_ips.join(", "))
        };
        let revoked = c.revoked_at.map(|at| {
            format!(
                "by {} on {}",
                c.revoked_by
                    .clone()
                    .unwrap_or_else(|| "an administrator".into()),
                at.display_utc()
            )
        });
        let target = c.clone();
        view! {
            <tr class=ROW data-credential=c.prefix.clone() data-kind=c.kind.as_str()>
                <td class="px-3 py-2">{c.owner.clone()}</td>
                <td class="px-3 py-2">
                    <span class="block font-medium">{c.name.clone()}</span>
                    <span class="block font-mono text-xs text-slate-600">{c.prefix.clone()}</span>
                    <span class="block text-xs text-slate-500">{c.kind.label()}</span>
                </td>
                <td class="px-3 py-2 text-xs">{c.scopes.join(" ")}</td>
                <td class="px-3 py-2 whitespace-nowrap">{c.created_at.display_utc()}</td>
                <td class="px-3 py-2 whitespace-nowrap">{c.expires_at.map(|t| t.display_utc()).unwrap_or_else(|| "Never".into())}</td>
                <td class="px-3 py-2 whitespace-nowrap">
                    {c.last_used_at.map(|t| t.display_utc()).unwrap_or_else(|| "Never".into())}
                    <span class="block font-mono text-xs text-slate-500">{c.last_used_ip.clone().unwrap_or_default()}</span>
                </td>
                <td class="px-3 py-2 text-xs">{format!("{} seen; {allowlist}", c.ips)}</td>
                <td class="px-3 py-2">
                    <span class=format!("rounded px-1.5 py-0.5 text-xs font-medium {badge_class}") data-status=label>{label}</span>
                    {revoked.map(|n| view! { <span class="mt-1 block text-xs text-slate-500">{n}</span> })}
                </td>
                <td class="px-3 py-2 text-right">
                    {active.then(|| view! {
                        <button type="button" class="text-sm text-red-700 hover:underline"
                            on:click=move |_| confirming.set(Some(target.clone()))>"Revoke"</button>
                    })}
                </td>
            </tr>
        }
    };
    view! {
        <DataTable columns=COLUMNS rows=rows row=row label="Credentials" dense=true
            empty="No credentials match. (At most 200 are listed: narrow with a filter or a search.)"/>
    }
}

#[component]
fn RevokeCredential(
    credential: Credential,
    action: ServerAction<AdminRevokeCredential>,
    on_cancel: impl Fn() + 'static + Send + Sync,
) -> impl IntoView {
    let error = action_error(action);
    view! {
        <Dialog title_id="admin-revoke-title" title=format!("Revoke {} of {}?", credential.prefix, credential.owner)>
            <p class="mt-2 text-sm text-slate-600">
                {format!("\u{201c}{}\u{201d} stops working on its next request. The owner's list shows that an administrator revoked it, and both of your audit trails record it.", credential.name)}
            </p>
            <ActionForm action=action>
                <input type="hidden" name="kind" value=credential.kind.as_str()/>
                <input type="hidden" name="id" value=credential.id.clone()/>
                <label class="mt-4 block text-sm font-medium" for="revoke-note">"Reason (optional, recorded in the audit log)"</label>
                <input id="revoke-note" name="note" class="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm"/>
                <p class="mt-2 text-sm text-red-700">{error}</p>
                <div class="mt-6 flex justify-end gap-3">
                    <button type="button" on:click=move |_| on_cancel() class="rounded-md border border-slate-300 px-3 py-2 text-sm">"Cancel"</button>
                    <button type="submit" class="rounded-md bg-red-700 px-3 py-2 text-sm font-semibold text-white hover:bg-red-800">"Revoke"</button>
                </div>
            </ActionForm>
        </Dialog>
    }
}
