//! Small building blocks shared by the pages: form fields with their error
//! line, the centred card of the sign-in pages, banners, a modal dialog
//! ([`Dialog`]), the data table of the dashboard's lists ([`table`]), a
//! credential's calls chart ([`usage_chart`]), sudo mode's dialog ([`sudo`])
//! and the browser side of passkeys ([`passkey`]).

pub mod passkey;
pub mod sudo;
pub mod table;
pub mod usage_chart;

use leptos::prelude::*;

pub use sudo::{SudoForm, SudoGate};
pub use table::{Column, DataTable};

/// A labelled input with its error message directly below it.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    view! {
        <div>
            <label for=id.clone() class="block text-sm font-medium text-slate-700">{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                required=true
                aria-describedby=error_id.clone()
                aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                class="mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200 aria-[invalid=true]:border-red-500"
            />
            {hint.map(|h| view! { <p class="mt-1 text-xs text-slate-500">{h}</p> })}
            <p id=error_id class="mt-1 min-h-5 text-sm text-red-700" data-error-for=name aria-live="polite">
                {move || error.get()}
            </p>
        </div>
    }
}

/// The centred card used by the setup and sign-in pages.
#[component]
pub fn AuthCard(title: &'static str, subtitle: &'static str, children: Children) -> impl IntoView {
    view! {
        <main class="flex min-h-screen items-center justify-center px-4 py-12">
            <div class="w-full max-w-sm">
                <p class="text-center text-sm font-semibold tracking-wide text-indigo-700">"PREQSTATION"</p>
                <h1 class="mt-2 text-center text-2xl font-semibold">{title}</h1>
                <p class="mt-1 text-center text-sm text-slate-600">{subtitle}</p>
                <div class="mt-8 rounded-lg border border-slate-200 bg-white p-6 shadow-sm">{children()}</div>
            </div>
        </main>
    }
}

/// An error not tied to a field, shown above a form.
#[component]
pub fn FormAlert(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || message.get().is_some()>
            <div role="alert" class="mb-4 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
                {move || message.get()}
            </div>
        </Show>
    }
}

/// The primary submit button, disabled while the action is pending.
#[component]
pub fn SubmitButton(
    label: &'static str,
    pending_label: &'static str,
    #[prop(into)] pending: Signal<bool>,
) -> impl IntoView {
    view! {
        <button
            type="submit"
            disabled=move || pending.get()
            class="w-full rounded-md bg-indigo-700 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-800 focus:outline-none focus:ring-2 focus:ring-indigo-300 disabled:opacity-60"
        >
            {move || if pending.get() { pending_label } else { label }}
        </button>
    }
}

/// A block of text to paste elsewhere, with its own Copy button.
#[component]
pub fn CopyBlock(label: &'static str, testid: &'static str, text: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let to_copy = text.clone();
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let _ = window().navigator().clipboard().write_text(&to_copy);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &to_copy;
        copied.set(true);
    };
    view! {
        <div class="mt-3">
            <div class="flex items-center justify-between">
                <p class="text-sm text-green-900">{label}</p>
                <button type="button" on:click=copy data-testid=format!("copy-{testid}")
                    class="rounded-md border border-green-400 bg-white px-2 py-1 text-xs font-medium text-green-900 hover:bg-green-100">
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
            <pre data-testid=testid class="mt-1 overflow-x-auto rounded-md bg-slate-900 p-3 text-xs text-slate-100">{text}</pre>
        </div>
    }
}

/// One labelled fact of a card's `<dl>` (a webhook endpoint, a trust rule).
#[component]
pub fn Fact(label: &'static str, children: Children) -> impl IntoView {
    view! {
        <div>
            <dt class="text-xs font-medium uppercase text-slate-500">{label}</dt>
            <dd class="mt-0.5">{children()}</dd>
        </div>
    }
}

/// A modal dialog over the page, titled by its heading (`title_id` names
/// the heading for `aria-labelledby`).
#[component]
pub fn Dialog(
    title_id: &'static str,
    #[prop(into)] title: String,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="fixed inset-0 z-10 flex items-center justify-center bg-slate-900/40 px-4">
            <div role="dialog" aria-modal="true" aria-labelledby=title_id
                class="w-full max-w-md rounded-lg bg-white p-6 shadow-xl">
                <h2 id=title_id class="text-lg font-semibold">{title}</h2>
                {children()}
            </div>
        </div>
    }
}

/// The message of `action`'s last answer when it failed, for a form's
/// general error line.
pub fn action_error<A>(action: ServerAction<A>) -> impl Fn() -> Option<String> + Copy
where
    A: leptos::server_fn::ServerFn + Clone + Send + Sync + 'static,
    A::Output: Clone + Send + Sync + 'static,
    A::Error: Clone + Send + Sync + std::fmt::Display + 'static,
{
    move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    }
}

/// A page's content when its server function refused (an admin page seen
/// by a member): the message in a notice, and, on the server, the
/// response's status 403 when it was a refusal.
pub fn refusal(e: crate::error::AppError) -> AnyView {
    #[cfg(feature = "ssr")]
    if matches!(e, crate::error::AppError::Forbidden(_)) {
        if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
            res.set_status(http::StatusCode::FORBIDDEN);
        }
    }
    view! { <p class="mt-4 rounded-md border border-amber-200 bg-amber-50 p-4 text-sm text-amber-900">{e.to_string()}</p> }
        .into_any()
}
