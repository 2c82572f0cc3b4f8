//! The parts of a token's page that bound what it does: its usage limit
//! (calls left, the form to set or clear it) and its live task-scoped
//! tokens (from token exchange), each with Revoke, and Revoke all.

use leptos::prelude::*;

use crate::{
    pages::token_actions::ErrorLine,
    rpc::token_limits::{RevokeTaskTokens, SetTokenUsageLimit},
    tokens::{limit::UsageState, task::TaskTokenView},
    types::{relative, Timestamp},
};

const INPUT: &str = "mt-1 block w-40 rounded-md border border-slate-300 px-3 py-2 text-sm";
const SAVE: &str =
    "rounded-md bg-indigo-700 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-800";

/// The usage limit: where it stands, and (for a working token) the form.
#[component]
pub fn UsageLimitForm(
    id: String,
    usage: Option<UsageState>,
    editable: bool,
    action: ServerAction<SetTokenUsageLimit>,
) -> impl IntoView {
    let err = move || action.value().get().and_then(|r| r.err());
    let field = move |f: &'static str| Signal::derive(move || err().and_then(|e| e.for_field(f)));
    let standing = match usage {
        None => "No limit: every call is allowed (within the rate limit).".to_string(),
        Some(u) => format!("{} of {} left.", u.remaining.max(0), u.limit.describe()),
    };
    let limit = usage.map(|u| u.limit.limit.to_string()).unwrap_or_default();
    let period = usage.and_then(|u| u.limit.refill).map(|(_, p)| p.as_str());
    let amount = usage
        .and_then(|u| u.limit.refill)
        .map(|(a, _)| a.to_string())
        .unwrap_or_default();
    view! {
        <section class="mt-8 rounded-lg border border-slate-200 bg-white p-4" aria-labelledby="limit-heading">
            <h2 id="limit-heading" class="font-semibold">"Usage limit"</h2>
            <p class="mt-1 text-sm" data-testid="usage-limit">{standing}</p>
            {editable.then(|| view! {
                <ActionForm action=action attr:class="mt-3 flex flex-wrap items-end gap-4">
                    <input type="hidden" name="id" value=id.clone()/>
                    <div>
                        <label class="block text-sm font-medium" for="usage-limit">"Calls"</label>
                        <input id="usage-limit" name="usage_limit" inputmode="numeric" class=INPUT value=limit.clone()
                            placeholder="no limit"/>
                    </div>
                    <div>
                        <label class="block text-sm font-medium" for="usage-refill-period">"Refill"</label>
                        <select id="usage-refill-period" name="usage_refill_period"
                            class="mt-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm">
                            <option value="none" selected=period.is_none()>"Never"</option>
                            <option value="day" selected=period == Some("day")>"Every day (UTC)"</option>
                            <option value="month" selected=period == Some("month")>"Every month (UTC)"</option>
                        </select>
                    </div>
                    <div>
                        <label class="block text-sm font-medium" for="usage-refill-amount">"Refill to"</label>
                        <input id="usage-refill-amount" name="usage_refill_amount" inputmode="numeric" class=INPUT
                            value=amount.clone() placeholder="the limit"/>
                    </div>
                    <button type="submit" class=SAVE>"Save limit"</button>
                </ActionForm>
                <ErrorLine field="usage_limit" error=field("usage_limit")/>
                <p class="text-xs text-slate-500">
                    "Each call costs 1 unless your administrator set another cost for it. Past the limit, calls get 429 USAGE_EXHAUSTED; you are notified at 10 % and when it runs out. Saving starts the count again."
                </p>
            })}
        </section>
    }
}

/// The live task tokens exchanged from this token.
#[component]
pub fn TaskTokens(
    subject: String,
    tokens: Vec<TaskTokenView>,
    now: Timestamp,
    action: ServerAction<RevokeTaskTokens>,
) -> impl IntoView {
    let count = tokens.len();
    let all_subject = subject.clone();
    view! {
        <section class="mt-8" aria-labelledby="task-tokens-heading">
            <div class="flex items-baseline justify-between">
                <h2 id="task-tokens-heading" class="text-lg font-semibold">"Task tokens"</h2>
                {(count > 0).then(|| view! {
                    <button type="button" data-testid="revoke-all-task-tokens"
                        class="rounded-md border border-red-300 px-3 py-1 text-sm text-red-700 hover:bg-red-50"
                        on:click=move |_| {
                            action.dispatch(RevokeTaskTokens { id: None, subject: all_subject.clone() });
                        }>{format!("Revoke all {count}")}</button>
                })}
            </div>
            <p class="text-xs text-slate-500">
                "Short-lived tokens an agent got for one task by token exchange (this token needs the tokens:delegate scope). Each dies when its task is done, when this token ends, or at its expiry."
            </p>
            {if tokens.is_empty() {
                view! { <p class="mt-2 text-sm text-slate-500" data-testid="no-task-tokens">"No live task tokens."</p> }.into_any()
            } else {
                view! {
                    <div class="mt-2 overflow-x-auto rounded-lg border border-slate-200 bg-white">
                        <table class="w-full text-left text-sm" data-testid="task-tokens">
                            <thead class="bg-slate-50 text-xs uppercase text-slate-500">
                                <tr>
                                    <th class="px-3 py-2">"Token"</th>
                                    <th class="px-3 py-2">"Task"</th>
                                    <th class="px-3 py-2">"Created"</th>
                                    <th class="px-3 py-2">"Expires"</th>
                                    <th class="px-3 py-2">"Last used"</th>
                                    <th class="px-3 py-2"><span class="sr-only">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>
                                {tokens.into_iter().map(|t| {
                                    let (id, subject) = (t.id.clone(), subject.clone());
                                    let last = t.last_used_at.map(|at| {
                                        format!("{} from {}", relative(at, now), t.last_used_ip.clone().unwrap_or_default())
                                    }).unwrap_or_else(|| "Never".into());
                                    view! {
                                        <tr class="border-t border-slate-100" data-task-token=t.prefix.clone()>
                                            <td class="px-3 py-2 font-mono text-xs">{t.prefix.clone()}"…"</td>
                                            <td class="px-3 py-2">
                                                <a class="text-indigo-700 underline" href=format!("/tasks/{}/logs", t.task_id)>{t.task_title.clone()}</a>
                                            </td>
                                            <td class="px-3 py-2 text-slate-600">{relative(t.created_at, now)}</td>
                                            <td class="px-3 py-2 text-slate-600">{relative(t.expires_at, now)}</td>
                                            <td class="px-3 py-2 text-slate-600">{last}</td>
                                            <td class="px-3 py-2 text-right">
                                                <button type="button" class="text-sm text-red-700 underline"
                                                    on:click=move |_| {
                                                        action.dispatch(RevokeTaskTokens { id: Some(id.clone()), subject: subject.clone() });
                                                    }>"Revoke"</button>
                                            </td>
                                        </tr>
                                    }
                                }).collect::<Vec<_>>()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            <p class="mt-1 text-sm text-red-700">{move || action.value().get().and_then(|r| r.err()).map(|e| e.to_string())}</p>
        </section>
    }
}
