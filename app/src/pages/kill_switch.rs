//! Settings > API Keys' kill switch: every working API key and connected
//! app of the account revoked at once, after a confirmation that names the
//! counts and asks for the word `revoke`.

use leptos::prelude::*;

use crate::{
    components::{action_error, Dialog},
    rpc::tokens::{revoke_all_preview, RevokeAllCredentials},
};

fn plural(n: u64, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}

#[component]
pub fn KillSwitch(action: ServerAction<RevokeAllCredentials>) -> impl IntoView {
    let open = RwSignal::new(false);
    let preview = Resource::new(
        move || (open.get(), action.version().get()),
        |(open, _)| async move {
            if open {
                revoke_all_preview().await.map(Some)
            } else {
                Ok(None)
            }
        },
    );
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            open.set(false);
        }
    });
    let done = move || {
        action.value().get().and_then(|r| r.ok()).map(|c| {
            view! {
                <p role="status" class="mt-3 text-sm text-green-800" data-testid="kill-switch-done">
                    {format!("Revoked {} and {}.", plural(c.tokens, "API key"), plural(c.apps, "connected app"))}
                </p>
            }
        })
    };
    view! {
        <section class="mt-10 rounded-lg border border-red-200 bg-white p-6" aria-labelledby="kill-switch-heading">
            <h2 id="kill-switch-heading" class="text-lg font-semibold text-red-800">"Revoke everything"</h2>
            <p class="mt-1 max-w-2xl text-sm text-slate-600">
                "If a machine or a secret store was compromised: every working API key and connected app of your "
                "account stops working at once. Your sign-in sessions stay."
            </p>
            {done}
            <button type="button" on:click=move |_| open.set(true)
                class="mt-4 rounded-md border border-red-300 px-3 py-2 text-sm font-semibold text-red-800 hover:bg-red-50">
                "Revoke all tokens and apps…"
            </button>
            <Show when=move || open.get()>
                <Dialog title_id="kill-switch-title" title="Revoke every token and connected app?">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            match preview.await {
                                Ok(Some(c)) => view! {
                                    <p class="mt-2 text-sm text-slate-700" data-testid="kill-switch-count">
                                        {format!(
                                            "This revokes {} and {}. Agents using them get 401 on their next request. \
                                             This cannot be undone.",
                                            plural(c.tokens, "API key"),
                                            plural(c.apps, "connected app"),
                                        )}
                                    </p>
                                }
                                .into_any(),
                                Ok(None) => ().into_any(),
                                Err(e) => view! { <p class="mt-2 text-sm text-red-700">{e.to_string()}</p> }.into_any(),
                            }
                        })}
                    </Transition>
                    <p class="mt-2 text-sm text-red-700">{action_error(action)}</p>
                    <ActionForm action=action>
                        <label for="kill-switch-confirm" class="mt-4 block text-sm font-medium">
                            "Type " <code>"revoke"</code> " to confirm"
                        </label>
                        <input id="kill-switch-confirm" name="confirm" type="text" autocomplete="off" required
                            class="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm"/>
                        <div class="mt-6 flex justify-end gap-3">
                            <button type="button" on:click=move |_| open.set(false)
                                class="rounded-md border border-slate-300 px-3 py-2 text-sm">"Cancel"</button>
                            <button type="submit" class="rounded-md bg-red-700 px-3 py-2 text-sm font-semibold text-white hover:bg-red-800">
                                "Revoke everything"
                            </button>
                        </div>
                    </ActionForm>
                </Dialog>
            </Show>
        </section>
    }
}
