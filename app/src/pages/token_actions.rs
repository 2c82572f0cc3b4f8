//! The token actions shared by the API Keys list and a token's own page:
//! the revoke and rotate dialogs, the panel that shows a new token once,
//! and a form field's error line.

use leptos::prelude::*;

use crate::{
    components::{action_error, CopyBlock, Dialog},
    rpc::tokens::{revoke_preview, RevokeToken, RotateToken},
    tokens::CreatedToken,
};

#[component]
pub fn ErrorLine(
    field: &'static str,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <p class="mt-1 text-sm text-red-700" data-error-for=field aria-live="polite">{move || error.get()}</p>
    }
}

#[component]
pub fn NewTokenPanel(
    created: CreatedToken,
    on_done: impl Fn() + 'static + Send + Sync,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    let token = created.token.clone();
    let (url, secret) = (created.api_url.as_str(), created.token.as_str());
    let exports = crate::tokens::snippets::exports(url, secret);
    let mcp_stdio = crate::tokens::snippets::mcp_stdio(url, secret);
    let mcp_remote = crate::tokens::snippets::mcp_remote(url, secret);
    let copy = move |_| {
        let clipboard = window().navigator().clipboard();
        let _ = clipboard.write_text(&token);
        copied.set(true);
    };
    view! {
        <section class="mt-6 rounded-lg border border-green-300 bg-green-50 p-6" aria-labelledby="created-heading" data-testid="new-token-panel">
            <h2 id="created-heading" class="font-semibold text-green-900">
                {format!("Token \u{201c}{}\u{201d} created", created.view.name)}
            </h2>
            <p class="mt-1 text-sm font-medium text-green-900">
                "Copy it now. You will not be able to see it again."
            </p>
            <div class="mt-3 flex items-center gap-2">
                <code data-testid="new-token" class="block flex-1 select-all overflow-x-auto rounded-md border border-green-200 bg-white px-3 py-2 font-mono text-sm">
                    {created.token.clone()}
                </code>
                <button type="button" on:click=copy data-testid="copy-token"
                    class="rounded-md border border-green-400 bg-white px-3 py-2 text-sm font-medium text-green-900 hover:bg-green-100">
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
            <p class="mt-4 text-sm font-medium text-green-900">
                "Configure your agent (every host's setup: "
                <a href="/docs/mcp" class="underline" target="_blank">"MCP and agent setup"</a>"):"
            </p>
            <CopyBlock label="Environment variables" testid="snippet-env" text=exports/>
            <CopyBlock label="MCP server, stdio (runs preqstation mcp)" testid="snippet-mcp-stdio" text=mcp_stdio/>
            <CopyBlock label="MCP server, remote (streamable HTTP at /mcp)" testid="snippet-mcp-remote" text=mcp_remote/>
            <button type="button" on:click=move |_| on_done()
                class="mt-4 text-sm text-green-900 underline">"I have copied it"</button>
        </section>
    }
}

#[component]
pub fn RevokeDialog(
    id: String,
    name: String,
    action: ServerAction<RevokeToken>,
    on_cancel: impl Fn() + 'static + Send + Sync,
) -> impl IntoView {
    let error = action_error(action);
    let preview_id = id.clone();
    let family = Resource::new(move || preview_id.clone(), revoke_preview);
    view! {
        <Dialog title_id="revoke-title" title=format!("Revoke \u{201c}{name}\u{201d}?")>
            <p class="mt-2 text-sm text-slate-600">
                "Any agent using this token gets 401 Unauthorized on its next request. This cannot be undone; "
                "the token stays listed as revoked."
            </p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match family.await {
                        Ok(n) if n > 0 => Some(view! {
                            <p class="mt-2 text-sm font-medium text-amber-900" data-testid="family-note">
                                {format!(
                                    "It belongs to a rotation family: {n} other working token{} rotated from or into it {} revoked too.",
                                    if n == 1 { "" } else { "s" },
                                    if n == 1 { "is" } else { "are" }
                                )}
                            </p>
                        }),
                        _ => None,
                    }
                })}
            </Transition>
            <p class="mt-2 text-sm text-red-700">{error}</p>
            <div class="mt-6 flex justify-end gap-3">
                <button type="button" on:click=move |_| on_cancel()
                    class="rounded-md border border-slate-300 px-3 py-2 text-sm">"Cancel"</button>
                <ActionForm action=action>
                    <input type="hidden" name="id" value=id/>
                    <button type="submit" class="rounded-md bg-red-700 px-3 py-2 text-sm font-semibold text-white hover:bg-red-800">
                        "Revoke token"
                    </button>
                </ActionForm>
            </div>
        </Dialog>
    }
}

#[component]
pub fn RotateDialog(
    id: String,
    name: String,
    action: ServerAction<RotateToken>,
    on_cancel: impl Fn() + 'static + Send + Sync,
) -> impl IntoView {
    let error = action_error(action);
    view! {
        <Dialog title_id="rotate-title" title=format!("Rotate \u{201c}{name}\u{201d}")>
            <p class="mt-2 text-sm text-slate-600">
                "A new token with the same name, scopes and lifetime is issued and shown once. "
                "The old one keeps working for the time you choose, or until the new one is first used."
            </p>
            <p class="mt-2 text-sm text-red-700">{error}</p>
            <ActionForm action=action>
                <input type="hidden" name="id" value=id/>
                <label class="mt-4 block text-sm font-medium" for="rotate-grace">"Old token keeps working for"</label>
                <select id="rotate-grace" name="grace" class="mt-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm">
                    <option value="none">"No overlap (stop now)"</option>
                    <option value="1h" selected=true>"1 hour"</option>
                    <option value="24h">"24 hours"</option>
                    <option value="7d">"7 days"</option>
                </select>
                <div class="mt-6 flex justify-end gap-3">
                    <button type="button" on:click=move |_| on_cancel() class="rounded-md border border-slate-300 px-3 py-2 text-sm">"Cancel"</button>
                    <button type="submit" class="rounded-md bg-indigo-700 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-800">"Rotate token"</button>
                </div>
            </ActionForm>
        </Dialog>
    }
}
