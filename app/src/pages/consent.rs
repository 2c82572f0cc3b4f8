//! The OAuth consent page (`/oauth/consent?request=…`): who is asking, where
//! the answer goes, what it may do (scopes can be unticked, the projects
//! limited to a selection), Allow or Deny.
//! A plain form POST to `/oauth/decision`, so the browser follows the
//! redirect back to the client; the page's CSP allows that one origin in
//! `form-action` (web::headers). Allow needs sudo mode: outside it the
//! decision comes back here with `sudo=1` and the page asks first.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::oauth::consent::{consent_info, ConsentDetails};

#[component]
pub fn ConsentPage() -> impl IntoView {
    let query = use_query_map();
    let info = Resource::new(
        move || query.read().get("request").unwrap_or_default(),
        consent_info,
    );
    // `/oauth/decision` sent the Allow back: the session is not in sudo mode.
    let sudo = RwSignal::new(query.read_untracked().get("sudo").is_some());
    view! {
        <Title text="Connect an application · Preqstation"/>
        <main class="mx-auto max-w-lg px-4 py-10">
            <Show when=move || sudo.get()>
                <section class="mb-6 rounded-lg border border-amber-200 bg-amber-50 p-6" data-sudo="">
                    <h2 class="text-lg font-semibold">"Confirm it is you"</h2>
                    <p class="mt-1 text-sm text-amber-900">
                        "Connecting an application is a sensitive action. Confirm your password or a code, then choose Allow again."
                    </p>
                    <div class="mt-4">
                        <crate::components::SudoForm done=move |()| sudo.set(false)/>
                    </div>
                </section>
            </Show>
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match info.await {
                        Ok(info) => view! { <Consent info=info/> }.into_any(),
                        Err(e) => view! {
                            <h1 class="text-2xl font-semibold">"Authorization request not found"</h1>
                            <p role="alert" class="mt-3 text-sm text-red-700">{e.to_string()}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn Consent(info: ConsentDetails) -> impl IntoView {
    let ConsentDetails {
        request,
        client_name,
        source,
        verified,
        redirect_host,
        localhost_only,
        scopes,
    } = info;
    view! {
        <section class="rounded-lg border border-slate-200 bg-white p-6 shadow-sm" data-consent="">
            <h1 class="text-xl font-semibold">
                <span data-client-name="">{client_name.clone()}</span>
                " wants to access your Preqstation account"
            </h1>
            <dl class="mt-4 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
                <dt class="text-slate-500">"Identified by"</dt>
                <dd>
                    {source}
                    {(!verified).then(|| view! {
                        <span class="ml-2 rounded bg-amber-100 px-1.5 py-0.5 text-xs text-amber-900">"name not verified"</span>
                    })}
                </dd>
                <dt class="text-slate-500">"Sends you back to"</dt>
                <dd class="font-mono text-xs">{redirect_host}</dd>
            </dl>
            {localhost_only.then(|| view! {
                <p role="note" class="mt-4 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900">
                    "This application only redirects to this computer (localhost). That is normal for a command-line tool you started yourself; if you did not, deny."
                </p>
            })}
            <form method="post" action="/oauth/decision" class="mt-5">
                <input type="hidden" name="request" value=request/>
                <fieldset>
                    <legend class="text-sm font-medium">"It will be able to:"</legend>
                    <ul class="mt-2 grid gap-2">
                        {scopes
                            .into_iter()
                            .map(|(scope, text)| {
                                let id = format!("scope-{}", scope.replace(':', "-"));
                                // Handing out task tokens is the owner's
                                // explicit choice: never ticked for them.
                                let ticked = scope != crate::tokens::Scope::TokensDelegate.as_str();
                                view! {
                                    <li class="flex items-start gap-2">
                                        <input type="checkbox" name="scope" value=scope.clone() id=id.clone() checked=ticked
                                            class="mt-1 h-4 w-4 rounded border-slate-300"/>
                                        <label for=id class="text-sm">
                                            <span class="font-mono text-xs">{scope}</span>
                                            " · "
                                            {text}
                                        </label>
                                    </li>
                                }
                            })
                            .collect::<Vec<_>>()}
                    </ul>
                </fieldset>
                <div class="mt-4">
                    <crate::pages::project_choice::ProjectChoice error=Signal::derive(|| None::<String>)/>
                </div>
                <p class="mt-4 text-xs text-slate-500">
                    "You can revoke this at any time in Settings › Connected apps. It never sees your password."
                </p>
                <div class="mt-5 flex gap-3">
                    <button type="submit" name="decision" value="allow"
                        class="rounded-md bg-indigo-700 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-800">
                        "Allow"
                    </button>
                    <button type="submit" name="decision" value="deny"
                        class="rounded-md border border-slate-300 px-4 py-2 text-sm hover:bg-slate-50">
                        "Deny"
                    </button>
                </div>
            </form>
        </section>
    }
}
