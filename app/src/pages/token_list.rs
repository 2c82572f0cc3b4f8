//! The API Keys list: a status filter that counts what it hides (active by
//! default), a table that fits a 1280 px screen and turns into stacked
//! cards on a phone (every row's actions stay reachable), and a pager past
//! 50 rows.

use leptos::prelude::*;

use crate::{
    tokens::{StatusCounts, TokenPage, TokenStatus, TokenView},
    types::relative,
};

/// The filter: one button per status with its count; "active" is the
/// default, so revoked and expired tokens are hidden until asked for.
#[component]
pub fn StatusFilter(
    status: RwSignal<String>,
    counts: StatusCounts,
    page: RwSignal<u32>,
) -> impl IntoView {
    let all = counts.active + counts.expired + counts.revoked;
    let choices = [
        ("active", "Active", counts.active),
        ("expired", "Expired", counts.expired),
        ("revoked", "Revoked", counts.revoked),
        ("all", "All", all),
    ];
    let hidden = counts.expired + counts.revoked;
    view! {
        <div class="mt-8 flex flex-wrap items-center gap-3 text-sm">
            <div role="group" aria-label="Show tokens" class="inline-flex flex-wrap rounded-md border border-slate-300 bg-white">
                {choices.into_iter().map(|(value, label, n)| {
                    let pressed = move || status.get() == value;
                    view! {
                        <button type="button" data-filter=value
                            aria-pressed=move || pressed().to_string()
                            class=move || format!(
                                "px-3 py-1.5 first:rounded-l-md last:rounded-r-md {}",
                                if pressed() { "bg-indigo-700 text-white" } else { "text-slate-700 hover:bg-slate-50" }
                            )
                            on:click=move |_| { status.set(value.to_string()); page.set(1); }>
                            {format!("{label} ({n})")}
                        </button>
                    }
                }).collect::<Vec<_>>()}
            </div>
            <Show when=move || { status.get() == "active" && hidden > 0 }>
                <p class="text-slate-600" data-testid="hidden-count">
                    {format!("{hidden} revoked or expired token{} hidden.", if hidden == 1 { "" } else { "s" })}
                </p>
            </Show>
        </div>
    }
}

/// The table (cards below the `md` breakpoint) and its pager.
#[component]
pub fn TokenTable(
    list: TokenPage,
    page: RwSignal<u32>,
    confirming: RwSignal<Option<(String, String)>>,
    rotating: RwSignal<Option<(String, String)>>,
) -> impl IntoView {
    let (current, pages) = (list.page, list.pages);
    view! {
        <div class="mt-4 rounded-lg border border-slate-200 bg-white">
            <table class="block w-full text-left text-sm md:table" data-testid="token-table">
                <thead class="hidden bg-slate-50 text-xs uppercase text-slate-500 md:table-header-group">
                    <tr>
                        <th class="px-3 py-2">"Name"</th>
                        <th class="px-3 py-2">"Scopes"</th>
                        <th class="px-3 py-2">"Expires"</th>
                        <th class="px-3 py-2">"Last used"</th>
                        <th class="px-3 py-2">"Status"</th>
                        <th class="px-3 py-2"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody class="block md:table-row-group">
                    {list.tokens.into_iter().map(|t| view! { <TokenRow token=t confirming=confirming rotating=rotating/> }).collect::<Vec<_>>()}
                </tbody>
            </table>
        </div>
        <Show when=move || { pages > 1 }>
            <nav class="mt-3 flex items-center justify-end gap-3 text-sm" aria-label="Token pages">
                <button type="button" class="rounded-md border border-slate-300 px-3 py-1 disabled:opacity-40"
                    disabled=current <= 1 on:click=move |_| page.set(current.saturating_sub(1).max(1))>"Previous"</button>
                <span data-testid="page-of">{format!("Page {current} of {pages}")}</span>
                <button type="button" class="rounded-md border border-slate-300 px-3 py-1 disabled:opacity-40"
                    disabled=current >= pages on:click=move |_| page.set(current + 1)>"Next"</button>
            </nav>
        </Show>
    }
}

/// The status badge's colours and text.
pub fn badge(status: TokenStatus) -> (&'static str, &'static str) {
    match status {
        TokenStatus::Active => ("bg-green-100 text-green-800", "Active"),
        TokenStatus::Expired => ("bg-slate-200 text-slate-700", "Expired"),
        TokenStatus::Revoked => ("bg-red-100 text-red-800", "Revoked"),
    }
}

/// Who revoked a token and when, or the policy that did.
pub fn revoked_note(token: &TokenView) -> Option<String> {
    token.revoked_at.map(|at| {
        if token.revoked_reason.as_deref() == Some("dormant") {
            return format!("unused for too long (token policy) on {}", at.display_utc());
        }
        format!(
            "by {} on {}",
            token
                .revoked_by
                .clone()
                .unwrap_or_else(|| "an administrator".into()),
            at.display_utc()
        )
    })
}

/// A label shown only on the stacked (phone) layout, where there is no header row.
#[component]
fn CellLabel(text: &'static str) -> impl IntoView {
    view! { <span class="mr-1 text-xs font-medium uppercase text-slate-500 md:hidden">{text}</span> }
}

#[component]
fn TokenRow(
    token: TokenView,
    confirming: RwSignal<Option<(String, String)>>,
    rotating: RwSignal<Option<(String, String)>>,
) -> impl IntoView {
    let now = token.now;
    let expires = match token.expires_at {
        None => view! { <span class="text-slate-500">"Never"</span> }.into_any(),
        Some(at) => {
            let soon = token.expires_soon();
            view! {
                <span title=at.display_utc()>{at.display_utc().chars().take(10).collect::<String>()}</span>
                <span class="text-xs text-slate-500 md:block">" "{relative(at, now)}</span>
                {soon.then(|| view! { <span class="mt-1 inline-block rounded bg-amber-100 px-1.5 py-0.5 text-xs text-amber-900">{format!("Expires {}", relative(at, now))}</span> })}
            }
            .into_any()
        }
    };
    let last_used = match token.last_used_at {
        None => view! { <span class="text-slate-500">"Never"</span> }.into_any(),
        Some(at) => view! {
            <span title=at.display_utc()>{relative(at, now)}</span>
            <span class="font-mono text-xs text-slate-500 md:block">" "{token.last_used_ip.clone().unwrap_or_default()}</span>
            <span class="block max-w-48 truncate text-xs text-slate-500" title=token.last_used_client.clone().unwrap_or_default()>
                {token.last_used_client.clone().unwrap_or_default()}
            </span>
        }
        .into_any(),
    };
    let (badge_class, label) = badge(token.status);
    let revoked_note = revoked_note(&token);
    let is_active = token.status == TokenStatus::Active;
    let can_rotate = is_active && token.rotated_to.is_none();
    let rotation_note = token
        .rotated_to
        .clone()
        .map(|succ| match token.grace_until {
            Some(until) if token.status == TokenStatus::Active => {
                format!(
                    "Rotated to {succ}; works until {} or the new token's first use",
                    until.display_utc()
                )
            }
            _ => format!("Rotated to {succ}"),
        });
    let id = token.id.clone();
    let name = token.name.clone();
    let rotate_id = token.id.clone();
    let rotate_name = token.name.clone();
    let allowed_ips = (!token.allowed_ips.is_empty()).then(|| token.allowed_ips.join(", "));
    let restricted = token.projects.as_ref().map(|ps| {
        ps.iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    });
    let cell = "block px-3 py-1 md:table-cell md:py-3";
    view! {
        <tr class="block border-t border-slate-100 py-2 align-top first:border-t-0 md:table-row md:py-0"
            data-token-id=token.id.clone() data-token-name=token.name.clone()>
            <td class=cell>
                <a href=format!("/settings/api-keys/{}", token.id) data-token-link="page"
                    class="block max-w-64 truncate font-medium text-indigo-800 hover:underline md:whitespace-nowrap" title=token.name.clone()>{token.name.clone()}</a>
                <span class="block font-mono text-xs text-slate-600">{token.prefix.clone()}</span>
                <span class="block text-xs text-slate-500" title=token.created_at.display_utc()>
                    {format!("Created {}", relative(token.created_at, now))}
                </span>
                {token.description.clone().map(|d| view! { <span class="block max-w-64 text-xs text-slate-500">{d}</span> })}
            </td>
            <td class=cell>
                <div class="flex max-w-64 flex-wrap gap-1">
                    {token.scopes.iter().map(|s| view! { <code class="rounded bg-slate-100 px-1 text-xs">{s.as_str()}</code> }).collect::<Vec<_>>()}
                </div>
                {restricted.map(|names| view! {
                    <span class="mt-1 block max-w-64 text-xs text-slate-600" data-testid="token-projects">
                        "Only projects: " {names}
                    </span>
                })}
                {allowed_ips.map(|ips| view! {
                    <span class="mt-1 block max-w-64 text-xs text-slate-600" data-testid="allowed-ips">
                        "Only from " <span class="font-mono">{ips}</span>
                    </span>
                })}
            </td>
            <td class=format!("{cell} md:whitespace-nowrap")><CellLabel text="Expires"/>{expires}</td>
            <td class=format!("{cell} md:whitespace-nowrap")><CellLabel text="Last used"/>{last_used}</td>
            <td class=cell>
                <span class=format!("rounded px-1.5 py-0.5 text-xs font-medium {badge_class}") data-status=label>{label}</span>
                {revoked_note.map(|n| view! { <span class="mt-1 block text-xs text-slate-500">{n}</span> })}
                {rotation_note.map(|n| view! { <span class="mt-1 block max-w-48 text-xs text-amber-800" data-testid="rotation-note">{n}</span> })}
            </td>
            <td class=format!("{cell} md:text-right")>
                <div class="flex gap-3 md:justify-end">
                    {can_rotate.then(|| view! {
                        <button type="button" class="text-sm text-indigo-700 hover:underline"
                            on:click=move |_| rotating.set(Some((rotate_id.clone(), rotate_name.clone())))>
                            "Rotate"
                        </button>
                    })}
                    {is_active.then(|| view! {
                        <button type="button" class="text-sm text-red-700 hover:underline"
                            on:click=move |_| confirming.set(Some((id.clone(), name.clone())))>
                            "Revoke"
                        </button>
                    })}
                </div>
            </td>
        </tr>
    }
}
