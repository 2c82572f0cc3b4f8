//! Settings > Webhooks, the endpoint forms: adding one and changing one
//! (the same fields, named as the server functions' arguments, each with
//! its error line by the field).

use leptos::prelude::*;

use super::webhooks::{general, Actions, BUTTON, SECONDARY};
use crate::{
    components::FormAlert,
    error::AppError,
    pages::token_actions::ErrorLine,
    types::CurrentUser,
    webhooks::{event_types, EndpointView, MAX_BATCH},
};

const CARD: &str = "mt-6 rounded-lg border border-slate-200 bg-white p-6 shadow-sm";
const INPUT: &str =
    "mt-1 block w-full max-w-xl rounded-md border border-slate-300 px-3 py-2 text-sm";

/// The "+ New endpoint" form; its answer's secret is shown by the page.
#[component]
pub fn AddForm(a: Actions) -> impl IntoView {
    let err = Signal::derive(move || a.create.value().get().and_then(|r| r.err()));
    view! {
        <section class=CARD aria-labelledby="new-webhook-heading">
            <h2 id="new-webhook-heading" class="text-lg font-semibold">"New endpoint"</h2>
            <div class="mt-4">
                <FormAlert message=Signal::derive(move || general(err.get()))/>
            </div>
            <ActionForm action=a.create>
                <EndpointFields prefix="new" current=None err=err/>
                <button type="submit" class=format!("mt-5 {BUTTON}") disabled=move || a.create.pending().get()>
                    {move || if a.create.pending().get() { "Adding…" } else { "Add endpoint" }}
                </button>
            </ActionForm>
        </section>
    }
}

/// An endpoint's "Change" form, filled in with what it has now.
#[component]
pub fn EditForm(ep: EndpointView, a: Actions) -> impl IntoView {
    let err = Signal::derive(move || a.update.value().get().and_then(|r| r.err()));
    view! {
        <div class="mt-4 border-t border-slate-100 pt-4">
            <FormAlert message=Signal::derive(move || general(err.get()))/>
            <ActionForm action=a.update>
                <input type="hidden" name="id" value=ep.id.clone()/>
                <EndpointFields prefix="edit" current=Some(ep) err=err/>
                <div class="mt-5 flex gap-3">
                    <button type="submit" class=BUTTON>"Save changes"</button>
                    <button type="button" class=SECONDARY on:click=move |_| a.editing.set(None)>"Cancel"</button>
                </div>
            </ActionForm>
        </div>
    }
}

/// The fields of the add and change forms (named as the server functions'
/// arguments), each with its error line; `current` fills them in.
#[component]
fn EndpointFields(
    prefix: &'static str,
    current: Option<EndpointView>,
    #[prop(into)] err: Signal<Option<AppError>>,
) -> impl IntoView {
    let id = move |f: &str| format!("webhook-{prefix}-{f}");
    let field =
        move |f: &'static str| Signal::derive(move || err.get().and_then(|e| e.for_field(f)));
    let (url, description, batch, every_account, events) = match current {
        Some(c) => (c.url, c.description, c.batch_size, c.all_accounts, c.events),
        None => (String::new(), String::new(), 1, false, Vec::new()),
    };
    let all_notifications = events.iter().any(|e| e == "notification.*");
    let all_audit = events.iter().any(|e| e == "audit.*");
    let specific = events
        .iter()
        .filter(|e| !matches!(e.as_str(), "notification.*" | "audit.*"))
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    let types = event_types();
    let user = use_context::<Resource<Result<Option<CurrentUser>, AppError>>>();
    let accounts_id = id("all-accounts");
    view! {
        <div class="grid gap-5">
            <div>
                <label for=id("url") class="block text-sm font-medium">"URL"</label>
                <input id=id("url") name="url" type="url" required maxlength="2048" autocomplete="off" value=url
                    placeholder="https://hooks.example.com/preqstation" aria-describedby=id("url-help") class=INPUT/>
                <p id=id("url-help") class="mt-1 text-xs text-slate-500">"HTTPS, at a public address. Every request is signed."</p>
                <ErrorLine field="url" error=field("url")/>
            </div>
            <div>
                <label for=id("description") class="block text-sm font-medium">
                    "Description " <span class="font-normal text-slate-500">"(optional)"</span>
                </label>
                <input id=id("description") name="description" type="text" maxlength="200" autocomplete="off" value=description
                    placeholder="e.g. security channel, SIEM" class=INPUT/>
                <ErrorLine field="webhook_description" error=field("webhook_description")/>
            </div>
            <fieldset>
                <legend class="text-sm font-medium">"Events"</legend>
                <label class="mt-2 flex items-center gap-2 text-sm">
                    <input type="checkbox" name="all_notifications" value="on" checked=all_notifications/>
                    "All notifications"
                    <span class="text-slate-500">"(what a person acts on: leaked or expiring tokens, sign-ins…)"</span>
                </label>
                <label class="mt-1 flex items-center gap-2 text-sm">
                    <input type="checkbox" name="all_audit" value="on" checked=all_audit/>
                    "All audit actions"
                    <span class="text-slate-500">"(everything the audit log records)"</span>
                </label>
                <label for=id("events") class="mt-3 block text-sm font-medium">
                    "Specific event types " <span class="font-normal text-slate-500">"(optional)"</span>
                </label>
                <textarea id=id("events") name="events" rows="3" aria-describedby=id("events-help")
                    placeholder="e.g. notification.token_leaked, audit.token_revoked"
                    class=format!("{INPUT} font-mono")>{specific}</textarea>
                <p id=id("events-help") class="mt-1 text-xs text-slate-500">"Separated by commas, spaces or lines; notification.*, audit.* and * name groups."</p>
                <details class="mt-2 text-sm">
                    <summary class="cursor-pointer text-indigo-700">{format!("Every event type ({})", types.len())}</summary>
                    <ul class="mt-2 grid gap-x-4 gap-y-0.5 font-mono text-xs text-slate-700 sm:grid-cols-2 lg:grid-cols-3">
                        {types.into_iter().map(|t| view! { <li>{t}</li> }).collect_view()}
                    </ul>
                </details>
                <ErrorLine field="events" error=field("events")/>
            </fieldset>
            <div>
                <label for=id("batch") class="block text-sm font-medium">"Events per request"</label>
                <input id=id("batch") name="batch_size" type="number" min="1" max=MAX_BATCH value=batch
                    aria-describedby=id("batch-help") class="mt-1 w-28 rounded-md border border-slate-300 px-3 py-2 text-sm"/>
                <p id=id("batch-help") class="mt-1 text-xs text-slate-500">
                    {format!("1 sends each event in a request of its own; more (up to {MAX_BATCH}) sends JSON arrays, for a SIEM.")}
                </p>
                <ErrorLine field="batch_size" error=field("batch_size")/>
            </div>
            <Transition fallback=|| ()>
                {move || {
                    let accounts_id = accounts_id.clone();
                    Suspend::new(async move {
                        let admin = match user {
                            Some(u) => matches!(u.await, Ok(Some(u)) if u.is_admin()),
                            None => false,
                        };
                        admin.then(|| view! {
                            <div class="flex items-center gap-2 text-sm">
                                <input id=accounts_id.clone() type="checkbox" name="all_accounts" value="on" checked=every_account/>
                                <label for=accounts_id>"Every account's events " <span class="text-slate-500">"(administrators only)"</span></label>
                            </div>
                        })
                    })
                }}
            </Transition>
        </div>
    }
}
