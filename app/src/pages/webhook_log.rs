//! Settings > Webhooks, an endpoint's delivery log (newest first, "Older"
//! pages back by sequence number, "Resend" per row) and the answer to its
//! "Send test event". The log's resource and the actions are the page's
//! ([`super::webhooks`]), so the log is fetched again after a test event or
//! a resend and the new row shows. The log is drawn only in the browser
//! (nothing is open on the server), from the resource's last page, which
//! stays while the next one loads.

use leptos::prelude::*;

use super::webhooks::{general, Actions, SECONDARY};
use crate::{
    components::{table::ROW, Column, DataTable, FormAlert},
    error::AppError,
    rpc::webhooks::ResendWebhook,
    webhooks::DeliveryView,
};

const COLUMNS: &[Column] = &[
    Column::new("Time (UTC)"),
    Column::new("Event"),
    Column::new("Sequence"),
    Column::new("State"),
    Column::new("Response"),
    Column::new("Latency (ms)"),
    Column::new("Attempts"),
    Column::new("Last error"),
    Column::hidden("Actions"),
];

const TD: &str = "px-3 py-2 align-top";

/// What the last test event to `endpoint` came to, in words.
#[component]
pub fn TestOutcome(endpoint: String, a: Actions) -> impl IntoView {
    let outcome = Memo::new(move |_| {
        if a.tested.get().as_deref() != Some(endpoint.as_str()) {
            return None;
        }
        if a.test.pending().get() {
            return Some(("pending", "Sending a test event…".to_string()));
        }
        a.test.value().get().map(describe)
    });
    view! {
        <p class="mt-3 text-sm" role="status" data-testid="test-result"
            data-outcome=move || outcome.get().map(|(o, _)| o)>
            {move || outcome.get().map(|(o, text)| {
                let class = match o {
                    "delivered" => "text-green-800",
                    "failed" => "text-red-700",
                    _ => "text-slate-700",
                };
                view! { <span class=class>{text}</span> }
            })}
        </p>
    }
}

fn describe(r: Result<DeliveryView, AppError>) -> (&'static str, String) {
    match r {
        Err(e) => ("failed", format!("The test event was not sent: {e}")),
        Ok(d) if d.state == "delivered" => (
            "delivered",
            format!(
                "Test event delivered: the endpoint answered HTTP {} in {} ms.",
                d.last_status.unwrap_or_default(),
                d.last_latency_ms.unwrap_or_default()
            ),
        ),
        Ok(d) if d.last_attempt_at.is_none() => (
            "queued",
            "Test event queued: not tried yet (it waits behind earlier deliveries). The log shows it once it is."
                .to_string(),
        ),
        Ok(d) => (
            "failed",
            format!(
                "Test event not delivered: {}. It is retried; the log shows each attempt.",
                d.last_error
                    .or(d.last_status.map(|s| format!("HTTP {s}")))
                    .unwrap_or_else(|| "no answer".into())
            ),
        ),
    }
}

/// The delivery log of `endpoint` (the page's log resource).
#[component]
pub fn DeliveryLog(endpoint: String, a: Actions) -> impl IntoView {
    let resend_err = move || general(a.resend.value().get().and_then(|r| r.err()));
    view! {
        <section class="mt-4 border-t border-slate-100 pt-4" aria-label="Delivery log" data-testid="delivery-log">
            <h3 class="font-medium">"Delivery log"</h3>
            <p class="text-xs text-slate-600">
                "Newest first, kept for 30 days. Resend sends a delivery again with the same id and sequence number."
            </p>
            <div class="mt-2">
                <FormAlert message=Signal::derive(resend_err)/>
            </div>
            {move || match a.log.get() {
                Some((Some(id), before, rows)) if id == endpoint => page(id, before, rows, a),
                _ => view! { <p class="mt-2 text-sm text-slate-600">"Loading deliveries…"</p> }.into_any(),
            }}
        </section>
    }
}

/// One page of the log, with its paging buttons.
fn page(
    endpoint: String,
    before: Option<i64>,
    rows: Result<Vec<DeliveryView>, AppError>,
    a: Actions,
) -> AnyView {
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => {
            return view! { <p role="alert" class="mt-2 text-sm text-red-700">{e.to_string()}</p> }
                .into_any()
        }
    };
    let last = rows.last().map(|d| d.sequence);
    let empty = if before.is_some() {
        "No older deliveries."
    } else {
        "No deliveries yet: send a test event, or wait for an event this endpoint asks for."
    };
    view! {
        <DataTable columns=COLUMNS rows=rows label="Delivery log" empty=empty dense=true margin="mt-2"
            row=move |d| row(d, endpoint.clone(), a)/>
        <div class="mt-2 flex gap-2">
            {before.is_some().then(|| view! {
                <button type="button" class=SECONDARY on:click=move |_| a.log_before.set(None)>"Newest"</button>
            })}
            {last.filter(|s| *s > 1).map(|s| view! {
                <button type="button" class=SECONDARY on:click=move |_| a.log_before.set(Some(s))>"Older"</button>
            })}
        </div>
    }
    .into_any()
}

fn row(d: DeliveryView, endpoint: String, a: Actions) -> impl IntoView {
    let (badge, label) = match d.state.as_str() {
        "delivered" => ("bg-green-100 text-green-900", "Delivered"),
        "failed" => ("bg-red-100 text-red-900", "Failed"),
        _ => ("bg-amber-100 text-amber-900", "Pending"),
    };
    let next = d
        .next_attempt_at
        .filter(|_| d.state == "pending")
        .map(|t| format!("next try {}", t.display_utc()));
    let dash = || "—".to_string();
    let delivery = d.id.clone();
    let seq = d.sequence;
    view! {
        <tr class=ROW data-event=d.event_type.clone() data-state=d.state.clone() data-sequence=seq>
            <td class=format!("{TD} whitespace-nowrap")>{d.created_at.display_utc()}</td>
            <td class=format!("{TD} font-mono text-xs")>{d.event_type.clone()}</td>
            <td class=TD>{seq}</td>
            <td class=TD>
                <span class=format!("rounded px-1.5 py-0.5 text-xs font-medium {badge}")>{label}</span>
                {next.map(|n| view! { <span class="block text-xs text-slate-600">{n}</span> })}
            </td>
            <td class=TD data-testid="response-status">{d.last_status.map(|s| s.to_string()).unwrap_or_else(dash)}</td>
            <td class=TD>{d.last_latency_ms.map(|s| s.to_string()).unwrap_or_else(dash)}</td>
            <td class=TD>{d.attempts}</td>
            <td class=format!("{TD} max-w-64 break-words text-xs text-slate-700")>{d.last_error.clone().unwrap_or_default()}</td>
            <td class=TD>
                <button type="button" class=SECONDARY aria-label=format!("Resend delivery {seq}")
                    disabled=move || a.resend.pending().get()
                    on:click=move |_| {
                        a.resend.dispatch(ResendWebhook { id: endpoint.clone(), delivery: delivery.clone() });
                    }>
                    "Resend"
                </button>
            </td>
        </tr>
    }
}
