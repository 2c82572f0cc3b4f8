//! A credential's calls per day as a stacked bar chart, drawn on the
//! server as SVG (readable without JavaScript), with a legend that carries
//! the totals and a table of the days as its text alternative.

use leptos::prelude::*;

use crate::tokens::usage::{CallOutcome, Usage};

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 140.0;

/// The fill of each outcome, in [`CallOutcome::ALL`] order.
fn colour(outcome: CallOutcome) -> &'static str {
    match outcome {
        CallOutcome::Success => "#16a34a",
        CallOutcome::Refused => "#dc2626",
        CallOutcome::Limited => "#d97706",
        CallOutcome::ClientError => "#64748b",
        CallOutcome::ServerError => "#7c3aed",
    }
}

/// One day's bar: a rectangle per outcome, stacked from the bottom.
fn bar(index: usize, calls: &[i64; 5], max: i64, slot: f64) -> Vec<AnyView> {
    let mut y = HEIGHT;
    CallOutcome::ALL
        .into_iter()
        .filter(|o| calls[o.index()] > 0)
        .map(|o| {
            let h = (calls[o.index()] as f64 / max as f64 * HEIGHT).max(1.0);
            y -= h;
            view! {
                <rect x=format!("{:.1}", index as f64 * slot + 2.0) y=format!("{y:.1}")
                    width=format!("{:.1}", slot - 4.0) height=format!("{h:.1}") fill=colour(o)/>
            }
            .into_any()
        })
        .collect()
}

#[component]
pub fn UsageChart(usage: Usage) -> impl IntoView {
    let totals = usage.totals();
    let total: i64 = totals.iter().sum();
    let max = usage.busiest().max(1);
    let slot = WIDTH / usage.days.len().max(1) as f64;
    let first = usage.days.first().map(|d| d.date()).unwrap_or_default();
    let last = usage.days.last().map(|d| d.date()).unwrap_or_default();
    let summary = format!(
        "{total} calls from {first} to {last}; the busiest day had {} calls.",
        usage.busiest()
    );
    let bars = usage
        .days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let tip = format!(
                "{}: {} calls{}",
                d.date(),
                d.total(),
                CallOutcome::ALL
                    .into_iter()
                    .filter(|o| d.calls[o.index()] > 0)
                    .map(|o| format!(", {} {}", d.calls[o.index()], o.label()))
                    .collect::<String>()
            );
            view! { <g><title>{tip}</title>{bar(i, &d.calls, max, slot)}</g> }
        })
        .collect::<Vec<_>>();
    let busy_days = usage
        .days
        .iter()
        .filter(|d| d.total() > 0)
        .rev()
        .map(|d| {
            view! {
                <tr>
                    <td class="pr-3">{d.date()}</td>
                    {d.calls.iter().map(|n| view! { <td class="pr-3 text-right">{*n}</td> }).collect::<Vec<_>>()}
                </tr>
            }
        })
        .collect::<Vec<_>>();
    view! {
        <figure class="mt-3" data-testid="usage-chart">
            <svg viewBox=format!("0 0 {WIDTH} {}", HEIGHT + 18.0) role="img" aria-labelledby="usage-title usage-desc"
                class="h-auto w-full max-w-3xl" preserveAspectRatio="none">
                <title id="usage-title">"Calls per day, last 30 days"</title>
                <desc id="usage-desc">{summary.clone()}</desc>
                <line x1="0" y1=HEIGHT x2=WIDTH y2=HEIGHT stroke="#cbd5e1"/>
                {bars}
                <text x="0" y=HEIGHT + 14.0 font-size="10" fill="#64748b">{first}</text>
                <text x=WIDTH y=HEIGHT + 14.0 font-size="10" fill="#64748b" text-anchor="end">{last}</text>
                <text x="0" y="10" font-size="10" fill="#64748b">{format!("{max} calls")}</text>
            </svg>
            <figcaption class="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-700" data-testid="usage-totals">
                <span class="font-medium" data-total=total>{format!("{total} calls in 30 days")}</span>
                {CallOutcome::ALL.into_iter().map(|o| view! {
                    <span data-outcome=o.as_str()>
                        <span class="mr-1 inline-block h-2 w-2 rounded-sm" style=format!("background:{}", colour(o))></span>
                        {format!("{}: {}", o.label(), totals[o.index()])}
                    </span>
                }).collect::<Vec<_>>()}
            </figcaption>
        </figure>
        <details class="mt-2 text-xs">
            <summary class="cursor-pointer text-slate-600">"The days as a table"</summary>
            <table class="mt-2 text-slate-700">
                <thead>
                    <tr>
                        <th class="pr-3 text-left">"Day (UTC)"</th>
                        {CallOutcome::ALL.into_iter().map(|o| view! { <th class="pr-3 text-right">{o.label()}</th> }).collect::<Vec<_>>()}
                    </tr>
                </thead>
                <tbody>{busy_days}</tbody>
            </table>
        </details>
    }
}
