//! Settings > Webhooks: the account's signed endpoints (an administrator's:
//! every endpoint), the form that adds one and shows its signing secret
//! once, and per endpoint: change, enable or disable, delete (confirmed),
//! roll the secret, send a test event and the delivery log. The forms are
//! [`super::webhook_form`], the log [`super::webhook_log`]. Creating,
//! changing, enabling and rolling go through sudo mode ([`SudoGate`]). The
//! effects on the actions' answers live here, on the page, which is never
//! drawn again.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    components::{Dialog, Fact, FormAlert, SudoGate},
    error::AppError,
    pages::{
        webhook_form::{AddForm, EditForm},
        webhook_log::{DeliveryLog, TestOutcome},
    },
    rpc::webhooks::{
        list_webhooks, webhook_deliveries, CreateWebhook, DeleteWebhook, EnableWebhook,
        ResendWebhook, RollWebhookSecret, TestWebhook, UpdateWebhook,
    },
    webhooks::{CreatedEndpoint, DeliveryView, EndpointView},
};

pub(super) const BUTTON: &str = "rounded-md bg-indigo-700 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-800 disabled:opacity-60";
pub(super) const SECONDARY: &str =
    "rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-50 disabled:opacity-60";

/// The page's actions and what is open, shared by its parts.
#[derive(Clone, Copy)]
pub struct Actions {
    pub(super) create: ServerAction<CreateWebhook>,
    pub(super) update: ServerAction<UpdateWebhook>,
    enable: ServerAction<EnableWebhook>,
    delete: ServerAction<DeleteWebhook>,
    roll: ServerAction<RollWebhookSecret>,
    pub(super) test: ServerAction<TestWebhook>,
    pub(super) resend: ServerAction<ResendWebhook>,
    /// The endpoint whose delivery log is open, and where its page starts
    /// (before this sequence number; `None`: the newest).
    pub(super) log_open: RwSignal<Option<String>>,
    pub(super) log_before: RwSignal<Option<i64>>,
    /// The open log's page: whose, before which sequence, its rows.
    pub(super) log: Resource<LogPage>,
    /// The endpoint the last test event went to.
    pub(super) tested: RwSignal<Option<String>>,
    pub(super) editing: RwSignal<Option<String>>,
    /// The endpoint whose deletion is being confirmed: id and URL.
    deleting: RwSignal<Option<(String, String)>>,
}

/// A page of an endpoint's delivery log: the endpoint, the sequence it
/// starts before (`None`: the newest), the rows.
pub type LogPage = (
    Option<String>,
    Option<i64>,
    Result<Vec<DeliveryView>, AppError>,
);

/// An error for a form's top line: not a field's, and not the sudo
/// request (the dialog asks for that).
pub(super) fn general(e: Option<AppError>) -> Option<String> {
    e.filter(|e| !matches!(e, AppError::SudoRequired(_)))
        .and_then(|e| e.general())
}

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let log_open = RwSignal::new(None::<String>);
    let log_before = RwSignal::new(None::<i64>);
    let test = ServerAction::<TestWebhook>::new();
    let resend = ServerAction::<ResendWebhook>::new();
    // Fetched again after a test event or a resend, so the new row shows;
    // the log shows the last page it got meanwhile (no "Loading" flash when
    // the list draws its card again).
    let log = Resource::new(
        move || {
            (
                log_open.get(),
                log_before.get(),
                test.version().get(),
                resend.version().get(),
            )
        },
        |(id, before, _, _)| async move {
            let rows = match id.clone() {
                Some(id) => webhook_deliveries(id, before).await,
                None => Ok(Vec::new()),
            };
            (id, before, rows)
        },
    );
    let a = Actions {
        create: ServerAction::new(),
        update: ServerAction::new(),
        enable: ServerAction::new(),
        delete: ServerAction::new(),
        roll: ServerAction::new(),
        test,
        resend,
        log_open,
        log_before,
        log,
        tested: RwSignal::new(None),
        editing: RwSignal::new(None),
        deleting: RwSignal::new(None),
    };
    let show_form = RwSignal::new(false);
    // The secret of the last endpoint added or rolled (shown once), and
    // whether it was a roll.
    let secret = RwSignal::new(None::<(CreatedEndpoint, bool)>);
    let endpoints = Resource::new(
        move || {
            (
                a.create.version().get(),
                a.update.version().get(),
                a.enable.version().get(),
                a.delete.version().get(),
                a.roll.version().get(),
                a.test.version().get(),
                a.resend.version().get(),
            )
        },
        |_| list_webhooks(),
    );
    Effect::new(move |_| {
        if let Some(Ok(c)) = a.create.value().get() {
            show_form.set(false);
            secret.set(Some((c, false)));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(c)) = a.roll.value().get() {
            secret.set(Some((c, true)));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = a.update.value().get() {
            a.editing.set(None);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = a.delete.value().get() {
            a.deleting.set(None);
        }
    });
    let error = move || {
        general(a.enable.value().get().and_then(|r| r.err()))
            .or_else(|| general(a.roll.value().get().and_then(|r| r.err())))
    };
    view! {
        <Title text="Webhooks · Preqstation"/>
        <SudoGate action=a.create/>
        <SudoGate action=a.update/>
        <SudoGate action=a.enable/>
        <SudoGate action=a.roll/>
        <div class="flex items-start justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold">"Webhooks"</h1>
                <p class="mt-1 max-w-2xl text-sm text-slate-600">
                    "Preqstation sends the notifications and audit actions you choose to your own HTTPS endpoints, "
                    "signed as the Standard Webhooks specification says, in order, retried for 24 hours."
                </p>
            </div>
            <button type="button" class=format!("shrink-0 {BUTTON}") aria-expanded=move || show_form.get().to_string()
                on:click=move |_| show_form.update(|s| *s = !*s)>
                "+ New endpoint"
            </button>
        </div>
        {move || secret.get().map(|(c, rolled)| view! { <SecretPanel created=c rolled=rolled on_done=move || secret.set(None)/> })}
        <Show when=move || show_form.get()>
            <AddForm a=a/>
        </Show>
        <FormAlert message=Signal::derive(error)/>
        <Transition fallback=|| view! { <p class="mt-6 text-sm text-slate-500">"Loading endpoints…"</p> }>
            {move || Suspend::new(async move {
                match endpoints.await {
                    Err(e) => crate::components::refusal(e),
                    Ok(list) if list.is_empty() => view! {
                        <p class="mt-6 rounded-lg border border-dashed border-slate-300 bg-white p-8 text-center text-sm text-slate-600" data-testid="webhooks-empty">
                            "No endpoints yet. Add one to have security notices or audit actions sent to a chat relay, a SIEM or your own service."
                        </p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="mt-6 grid gap-4" aria-label="Webhook endpoints">
                            {list.into_iter().map(|ep| view! { <EndpointCard ep=ep a=a/> }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Transition>
        {move || a.deleting.get().map(|(id, url)| view! { <DeleteDialog id=id url=url a=a/> })}
    }
}

/// The signing secret of an endpoint just added (or rolled), shown once.
#[component]
fn SecretPanel(
    created: CreatedEndpoint,
    rolled: bool,
    on_done: impl Fn() + 'static + Send + Sync,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    let secret = created.secret.clone();
    let copy = move |_| {
        let _ = window().navigator().clipboard().write_text(&secret);
        copied.set(true);
    };
    let heading = if rolled {
        "New signing secret"
    } else {
        "Endpoint added"
    };
    let until = created
        .endpoint
        .old_secret_until
        .map(|t| format!(" (until {})", t.display_utc()))
        .unwrap_or_default();
    view! {
        <section class="mt-6 rounded-lg border border-green-300 bg-green-50 p-6" aria-labelledby="webhook-secret-heading" data-testid="webhook-secret-panel">
            <h2 id="webhook-secret-heading" class="font-semibold text-green-900">{heading}</h2>
            <p class="mt-1 break-all font-mono text-sm text-green-900">{created.endpoint.url.clone()}</p>
            <p class="mt-2 text-sm font-medium text-green-900">
                "This is its signing secret. Copy it now: it is not shown again."
            </p>
            <div class="mt-3 flex items-center gap-2">
                <code data-testid="webhook-secret" class="block flex-1 select-all overflow-x-auto rounded-md border border-green-200 bg-white px-3 py-2 font-mono text-sm">
                    {created.secret.clone()}
                </code>
                <button type="button" on:click=copy data-testid="copy-secret"
                    class="rounded-md border border-green-400 bg-white px-3 py-2 text-sm font-medium text-green-900 hover:bg-green-100">
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
            {rolled.then(|| view! {
                <p class="mt-2 text-sm text-green-900" data-testid="roll-overlap">
                    {format!("The old secret signs every delivery too for 24 hours{until}, so the receiver can switch over without losing any.")}
                </p>
            })}
            <p class="mt-2 text-sm text-green-900">
                "The receiver checks each request's webhook-signature header with it: HMAC-SHA256 over “id.timestamp.body”, keyed by the base64-decoded part after whsec_."
            </p>
            <button type="button" on:click=move |_| on_done() class="mt-4 text-sm text-green-900 underline">"I have copied it"</button>
        </section>
    }
}

#[component]
fn EndpointCard(ep: EndpointView, a: Actions) -> impl IntoView {
    let id = ep.id.clone();
    let enabled = ep.enabled;
    let (open_id, test_id, edit_id) = (id.clone(), id.clone(), id.clone());
    let (roll_id, enable_id, del) = (id.clone(), id.clone(), (id.clone(), ep.url.clone()));
    let log_shown = {
        let id = id.clone();
        move || a.log_open.get().as_deref() == Some(id.as_str())
    };
    let editing = {
        let id = id.clone();
        move || a.editing.get().as_deref() == Some(id.as_str())
    };
    let status = match (&ep.disabled_reason, enabled) {
        (_, true) => "Enabled".to_string(),
        (Some(why), false) => format!("Disabled: {why}"),
        (None, false) => "Disabled".to_string(),
    };
    let badge = if enabled {
        "bg-green-100 text-green-900"
    } else {
        "bg-slate-200 text-slate-800"
    };
    let when = |t: Option<crate::types::Timestamp>| t.map(|t| t.display_utc());
    let current = ep.clone();
    view! {
        <li class="rounded-lg border border-slate-200 bg-white p-5 shadow-sm" data-testid="webhook-endpoint" data-url=ep.url.clone() data-enabled=enabled.to_string()>
            <div class="flex flex-wrap items-start justify-between gap-3">
                <div class="min-w-0">
                    <p class="break-all font-mono text-sm font-medium">{ep.url.clone()}</p>
                    {(!ep.description.is_empty()).then(|| view! { <p class="mt-0.5 text-sm text-slate-600">{ep.description.clone()}</p> })}
                    {ep.owner_email.clone().map(|o| view! { <p class="mt-0.5 text-xs text-slate-600">"Account: "{o}</p> })}
                </div>
                <span class=format!("rounded px-2 py-0.5 text-xs font-medium {badge}") data-testid="endpoint-status">{status}</span>
            </div>
            <dl class="mt-3 grid gap-x-6 gap-y-2 text-sm sm:grid-cols-2 lg:grid-cols-3">
                <Fact label="Events">
                    {ep.events.iter().map(|e| view! { <code class="mr-1 rounded bg-slate-100 px-1 text-xs">{e.clone()}</code> }).collect_view()}
                    {ep.all_accounts.then_some(" of every account")}
                </Fact>
                <Fact label="Events per request">{ep.batch_size}</Fact>
                <Fact label="Last success">{when(ep.last_success_at).unwrap_or_else(|| "Never".into())}</Fact>
                <Fact label="Queue">
                    <span data-testid="endpoint-counts">{format!("{} pending, {} failed", ep.pending, ep.failed)}</span>
                </Fact>
                {when(ep.failing_since).map(|t| view! { <Fact label="Failing since"><span class="text-red-800">{t}</span></Fact> })}
                {when(ep.old_secret_until).map(|t| view! { <Fact label="Old secret signs until">{t}</Fact> })}
            </dl>
            <div class="mt-4 flex flex-wrap items-center gap-2">
                <button type="button" class=SECONDARY disabled=move || a.test.pending().get() || !enabled
                    on:click=move |_| {
                        a.tested.set(Some(test_id.clone()));
                        a.log_before.set(None);
                        a.log_open.set(Some(test_id.clone()));
                        a.test.dispatch(TestWebhook { id: test_id.clone() });
                    }>
                    "Send test event"
                </button>
                <button type="button" class=SECONDARY aria-expanded={let s = log_shown.clone(); move || s().to_string()}
                    on:click={let s = log_shown.clone(); move |_| {
                        a.log_before.set(None);
                        a.log_open.set((!s()).then(|| open_id.clone()));
                    }}>
                    "Delivery log"
                </button>
                <button type="button" class=SECONDARY aria-expanded={let e = editing.clone(); move || e().to_string()}
                    on:click={let e = editing.clone(); move |_| a.editing.set((!e()).then(|| edit_id.clone()))}>
                    "Change"
                </button>
                <ActionForm action=a.roll>
                    <input type="hidden" name="id" value=roll_id/>
                    <button type="submit" class=SECONDARY>"Roll secret"</button>
                </ActionForm>
                <ActionForm action=a.enable>
                    <input type="hidden" name="id" value=enable_id/>
                    <input type="hidden" name="enabled" value=(!enabled).to_string()/>
                    <button type="submit" class=SECONDARY>{if enabled { "Disable" } else { "Enable" }}</button>
                </ActionForm>
                <button type="button" class="rounded-md border border-red-300 px-3 py-1.5 text-sm font-medium text-red-700 hover:bg-red-50"
                    on:click=move |_| a.deleting.set(Some(del.clone()))>
                    "Delete"
                </button>
            </div>
            <TestOutcome endpoint=id.clone() a=a/>
            <Show when=editing.clone()>
                <EditForm ep=current.clone() a=a/>
            </Show>
            <Show when=log_shown.clone()>
                <DeliveryLog endpoint=id.clone() a=a/>
            </Show>
        </li>
    }
}

#[component]
fn DeleteDialog(id: String, url: String, a: Actions) -> impl IntoView {
    let error = move || {
        a.delete
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    view! {
        <Dialog title_id="delete-webhook-title" title="Delete this endpoint?">
            <p class="mt-2 break-all font-mono text-sm">{url}</p>
            <p class="mt-2 text-sm text-slate-600">
                "Nothing more is sent to it, and its delivery log is deleted. This cannot be undone; disable it instead to pause."
            </p>
            <p class="mt-2 text-sm text-red-700" role="alert">{error}</p>
            <div class="mt-6 flex justify-end gap-3">
                <button type="button" on:click=move |_| a.deleting.set(None)
                    class="rounded-md border border-slate-300 px-3 py-2 text-sm">"Cancel"</button>
                <ActionForm action=a.delete>
                    <input type="hidden" name="id" value=id/>
                    <button type="submit" class="rounded-md bg-red-700 px-3 py-2 text-sm font-semibold text-white hover:bg-red-800">
                        "Delete endpoint"
                    </button>
                </ActionForm>
            </div>
        </Dialog>
    }
}
