//! Sudo mode in the page: when a sensitive action answers
//! [`AppError::SudoRequired`], [`SudoGate`] asks for the password or an
//! authenticator code in a dialog and then sends the same request again;
//! the form underneath keeps what was typed. The server decides (the
//! session row's confirmation time): this only asks.

use leptos::prelude::*;

use super::{Dialog, Field, FormAlert, SubmitButton};
use crate::{error::AppError, rpc::auth::ConfirmSudo};

/// The confirmation form; `done` runs once the server accepted it.
#[component]
pub fn SudoForm(#[prop(into)] done: Callback<()>) -> impl IntoView {
    let confirm = ServerAction::<ConfirmSudo>::new();
    let err = move || confirm.value().get().and_then(|r| r.err());
    Effect::new(move |_| {
        if matches!(confirm.value().get(), Some(Ok(()))) {
            done.run(());
        }
    });
    view! {
        <FormAlert message=Signal::derive(move || err().and_then(|e| e.general()))/>
        <ActionForm action=confirm attr:data-sudo-form="">
            <div class="space-y-3">
                <Field label="Password or authenticator code" name="sudo_proof" kind="password"
                    autocomplete="current-password"
                    hint="You confirmed it more than a few minutes ago; sensitive actions ask again."
                    error=Signal::derive(move || err().and_then(|e| e.for_field("sudo_proof")))/>
                <SubmitButton label="Confirm" pending_label="Checking…" pending=confirm.pending()/>
            </div>
        </ActionForm>
    }
}

/// Watches `action`: on `SudoRequired` it opens the dialog, and after the
/// confirmation dispatches the action's last input again. Place it outside
/// the action's form (forms do not nest).
#[component]
pub fn SudoGate<A>(action: ServerAction<A>) -> impl IntoView
where
    A: leptos::server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    A::Output: Clone + Send + Sync + 'static,
{
    let last: RwSignal<Option<A>> = RwSignal::new(None);
    Effect::new(move |_| {
        if let Some(input) = action.input().get() {
            last.set(Some(input));
        }
    });
    let open = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Err(AppError::SudoRequired(_))) = action.value().get() {
            open.set(true);
        }
    });
    let done = move |()| {
        open.set(false);
        if let Some(input) = last.get_untracked() {
            action.dispatch(input);
        }
    };
    view! {
        <Show when=move || open.get()>
            <Dialog title_id="sudo-title" title="Confirm it is you">
                <p class="mt-2 text-sm text-slate-600">
                    "This is a sensitive action. Enter your password or a code from your authenticator app; \
                     what you typed in the form is kept and sent once you confirm."
                </p>
                <div class="mt-4">
                    <SudoForm done=done/>
                </div>
                <button type="button" on:click=move |_| open.set(false)
                    class="mt-3 w-full rounded-md border border-slate-300 px-4 py-2 text-sm">"Cancel"</button>
            </Dialog>
        </Show>
    }
}
