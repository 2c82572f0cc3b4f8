//! Settings > Audit Logs: newest first, filters (action, token, time range,
//! all accounts for admins), keyset pagination, CSV / JSON Lines export of
//! the filtered set, and security events marked.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    audit::{AuditAction, AuditEntry, AuditFilter},
    components::{Column, DataTable},
    rpc::audit::list_audit,
};

#[component]
pub fn AuditPage() -> impl IntoView {
    // `?token=preq_...` (the links on token prefixes) opens the page filtered.
    let query = leptos_router::hooks::use_query_map();
    let initial_token = query.with_untracked(|q| q.get("token")).unwrap_or_default();
    let action = RwSignal::new(String::new());
    let token = RwSignal::new(initial_token.clone());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let all = RwSignal::new(false);
    let security_only = RwSignal::new(false);
    let filter = RwSignal::new(AuditFilter {
        token: (!initial_token.trim().is_empty()).then(|| initial_token.trim().to_string()),
        ..AuditFilter::default()
    });
    let before = RwSignal::new(None::<i64>);
    let page = Resource::new(
        move || (filter.get(), before.get()),
        |(f, b)| list_audit(f, b),
    );
    let apply = move || {
        let opt = |s: String| (!s.trim().is_empty()).then(|| s.trim().to_string());
        filter.set(AuditFilter {
            action: opt(action.get_untracked()),
            token: opt(token.get_untracked()),
            from: opt(from.get_untracked()),
            to: opt(to.get_untracked()),
            all_accounts: all.get_untracked().then(|| "on".to_string()),
            security_only: security_only.get_untracked().then(|| "on".to_string()),
        });
        before.set(None);
    };
    let export = move |ext: &str| {
        let q = filter.get().query_string();
        format!(
            "/settings/audit-logs/export.{ext}{}{q}",
            if q.is_empty() { "" } else { "?" }
        )
    };
    view! {
        <Title text="Audit Logs · Preqstation"/>
        <div class="flex items-start justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold">"Audit Logs"</h1>
                <p class="mt-1 max-w-2xl text-sm text-slate-600">
                    "Every sign-in, token and account event, newest first. Entries are hash-chained: "
                    <code class="text-xs">"preqstation audit verify"</code>" detects any edited or removed entry."
                </p>
            </div>
            <div class="flex shrink-0 gap-2 text-sm">
                <a href=move || export("csv") class="rounded-md border border-slate-300 bg-white px-3 py-2 hover:bg-slate-50" download>"Export CSV"</a>
                <a href=move || export("jsonl") class="rounded-md border border-slate-300 bg-white px-3 py-2 hover:bg-slate-50" download>"Export JSON Lines"</a>
            </div>
        </div>
        <form class="mt-6 flex flex-wrap items-end gap-3 text-sm" on:submit=move |ev| { ev.prevent_default(); apply(); }>
            <label class="grid gap-1">"Action"
                <select name="action" class="rounded-md border border-slate-300 bg-white px-2 py-1" on:change=move |ev| action.set(event_target_value(&ev))>
                    <option value="">"All actions"</option>
                    {AuditAction::ALL.iter().map(|a| view! { <option value=a.as_str()>{a.as_str()}</option> }).collect::<Vec<_>>()}
                </select>
            </label>
            <label class="grid gap-1">"Token prefix"
                <input name="token" placeholder="preq_…" class="w-36 rounded-md border border-slate-300 px-2 py-1"
                    prop:value=move || token.get() on:input=move |ev| token.set(event_target_value(&ev))/>
            </label>
            <label class="grid gap-1">"From"
                <input type="date" name="from" class="rounded-md border border-slate-300 px-2 py-1" on:input=move |ev| from.set(event_target_value(&ev))/>
            </label>
            <label class="grid gap-1">"To"
                <input type="date" name="to" class="rounded-md border border-slate-300 px-2 py-1" on:input=move |ev| to.set(event_target_value(&ev))/>
            </label>
            <label class="flex items-center gap-2 pb-1">
                <input type="checkbox" on:change=move |ev| security_only.set(event_target_checked(&ev))/>
                "Security events only"
            </label>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let admin = matches!(page.await, Ok(p) if p.is_admin);
                    admin.then(|| view! {
                        <label class="flex items-center gap-2 pb-1">
                            <input type="checkbox" on:change=move |ev| all.set(event_target_checked(&ev))/>
                            "All accounts"
                        </label>
                    })
                })}
            </Transition>
            <button type="submit" class="rounded-md bg-indigo-700 px-3 py-1.5 font-semibold text-white hover:bg-indigo-800">"Apply"</button>
        </form>
        <Transition fallback=|| view! { <p class="mt-4 text-sm text-slate-500">"Loading events…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => {
                        let next = p.next_before;
                        let pager = (!p.entries.is_empty()).then(|| view! {
                            <div class="mt-4 flex gap-3 text-sm">
                                <Show when=move || before.get().is_some()>
                                    <button type="button" class="rounded-md border border-slate-300 px-3 py-1" on:click=move |_| before.set(None)>"Newest"</button>
                                </Show>
                                {next.map(|n| view! {
                                    <button type="button" class="rounded-md border border-slate-300 px-3 py-1" on:click=move |_| before.set(Some(n))>"Older"</button>
                                })}
                            </div>
                        });
                        view! {
                            <EventTable entries=p.entries on_token=move |t: String| { token.set(t); apply(); }/>
                            {pager}
                        }.into_any()
                    }
                    Err(e) => view! { <p class="mt-4 text-sm text-red-700" data-error-for="filter">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A token prefix that filters the log to that token.
#[component]
fn TokenLink(prefix: String, on_token: Callback<String>) -> impl IntoView {
    let href = format!("/settings/audit-logs?token={prefix}");
    let clicked = prefix.clone();
    let marker = prefix.clone();
    view! {
        <a href=href class="font-mono text-indigo-700 hover:underline" data-token-link=marker
            title="Show only this token's events"
            on:click=move |ev| { ev.prevent_default(); on_token.run(clicked.clone()); }>
            {prefix}
        </a>
    }
}

/// The details as labelled values (method, path, status, reason, scopes...).
#[component]
fn Details(fields: Vec<(String, String)>) -> impl IntoView {
    view! {
        <dl class="grid grid-cols-[auto_1fr] gap-x-2 gap-y-0.5" data-testid="audit-details">
            {fields.into_iter().map(|(label, value)| view! {
                <dt class="text-slate-600">{label}</dt>
                <dd class="break-all font-mono text-slate-800">{value}</dd>
            }).collect::<Vec<_>>()}
        </dl>
    }
}

const COLUMNS: &[Column] = &[
    Column::new("Time (UTC)"),
    Column::new("Action"),
    Column::new("Actor"),
    Column::new("Target"),
    Column::new("Outcome"),
    Column::new("IP"),
    Column::new("Details"),
];

#[component]
fn EventTable(entries: Vec<AuditEntry>, #[prop(into)] on_token: Callback<String>) -> impl IntoView {
    let row = move |e: AuditEntry| {
        let row_class = if e.security {
            "border-t border-red-100 bg-red-50 align-top"
        } else {
            "border-t border-slate-100 align-top"
        };
        view! {
            <tr class=row_class data-action=e.action.clone() data-security=e.security.to_string()>
                <td class="whitespace-nowrap px-3 py-2 text-xs">{e.at.rfc3339()}</td>
                <td class="px-3 py-2">
                    <code class="text-xs">{e.action.clone()}</code>
                    {e.security.then(|| view! { <span class="ml-1 rounded bg-red-600 px-1.5 py-0.5 text-xs font-medium text-white">"Security"</span> })}
                </td>
                <td class="px-3 py-2 text-xs">
                    {e.actor.clone().unwrap_or_else(|| e.actor_kind.clone())}
                    {e.account_email.clone().map(|m| view! { <span class="block text-slate-600">{m}</span> })}
                </td>
                <td class="px-3 py-2 text-xs">
                    {e.target.clone().unwrap_or_default()}
                    {e.token_prefix.clone().map(|t| view! { <span class="block"><TokenLink prefix=t on_token=on_token/></span> })}
                </td>
                <td class="px-3 py-2 text-xs">{e.outcome.clone()}</td>
                <td class="px-3 py-2 font-mono text-xs">{e.ip.clone().unwrap_or_default()}</td>
                <td class="min-w-48 max-w-sm px-3 py-2 text-xs" title=e.user_agent.clone().unwrap_or_default()>
                    <Details fields=e.detail_fields()/>
                </td>
            </tr>
        }
    };
    view! {
        <DataTable columns=COLUMNS rows=entries row=row label="Audit events" empty="No events match." dense=true margin="mt-4"/>
    }
}
