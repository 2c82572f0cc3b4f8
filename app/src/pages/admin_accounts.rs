//! Admin > Accounts: list accounts, create one, disable or re-enable it, and
//! end all of an account's sessions and tokens.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    accounts::AccountSummary,
    components::{table::ROW, Column, DataTable, Field, FormAlert},
    pages::setup::PASSWORD_HINT,
    rpc::accounts::{list_accounts, CreateAccount, InvalidateAccount, SetAccountDisabled},
};

#[component]
pub fn AdminAccountsPage() -> impl IntoView {
    let create = ServerAction::<CreateAccount>::new();
    let disable = ServerAction::<SetAccountDisabled>::new();
    let invalidate = ServerAction::<InvalidateAccount>::new();
    let reset = ServerAction::<crate::rpc::security::ResetTwoFactor>::new();
    let accounts = Resource::new(
        move || {
            (
                reset.version().get(),
                create.version().get(),
                disable.version().get(),
                invalidate.version().get(),
            )
        },
        |_| list_accounts(),
    );
    let err = move || create.value().get().and_then(|r| r.err());
    let created = move || create.value().get().and_then(|r| r.ok());
    let action_error = move || {
        disable
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| invalidate.value().get().and_then(|r| r.err()))
            .or_else(|| reset.value().get().and_then(|r| r.err()))
            .filter(|e| !matches!(e, crate::error::AppError::SudoRequired(_)))
            .map(|e| e.to_string())
    };
    let invalidated = move || invalidate.value().get().and_then(|r| r.ok());
    view! {
        <Title text="Accounts · Preqstation"/>
        <crate::components::SudoGate action=create/>
        <crate::components::SudoGate action=disable/>
        <crate::components::SudoGate action=invalidate/>
        <crate::components::SudoGate action=reset/>
        <h1 class="text-2xl font-semibold">"Accounts"</h1>
        <p class="mt-1 max-w-2xl text-sm text-slate-600">
            "Each account has its own tokens, projects and audit trail. Administrators also manage accounts and policies."
        </p>
        <Show when=move || action_error().is_some()>
            <p role="alert" class="mt-4 text-sm text-red-700">{action_error}</p>
        </Show>
        <Show when=move || invalidated().is_some()>
            <p role="status" class="mt-4 text-sm text-green-800">{invalidated}</p>
        </Show>
        <Transition fallback=|| view! { <p class="mt-4 text-sm text-slate-500">"Loading accounts…"</p> }>
            {move || Suspend::new(async move {
                match accounts.await {
                    Ok(list) => view! { <AccountTable list=list disable=disable invalidate=invalidate reset=reset/> }.into_any(),
                    Err(e) => crate::components::refusal(e),
                }
            })}
        </Transition>
        <section class="mt-8 max-w-lg rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
            <h2 class="text-lg font-semibold">"New account"</h2>
            <div class="mt-4">
                <FormAlert message=Signal::derive(move || err().and_then(|e| e.general()))/>
                <Show when=move || created().is_some()>
                    <p role="status" class="mb-4 rounded-md bg-green-50 px-3 py-2 text-sm text-green-800">
                        {move || format!("Account {} created. Share the initial password with them privately.", created().unwrap_or_default())}
                    </p>
                </Show>
            </div>
            <ActionForm action=create>
                <div class="space-y-3">
                    <Field label="Email" name="email" kind="email" autocomplete="off"
                        error=Signal::derive(move || err().and_then(|e| e.for_field("email")))/>
                    <div>
                        <label for="field-role" class="block text-sm font-medium text-slate-700">"Role"</label>
                        <select id="field-role" name="role" class="mt-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm">
                            <option value="member" selected=true>"Member"</option>
                            <option value="admin">"Administrator"</option>
                        </select>
                    </div>
                    <Field label="Initial password" name="password" kind="password" autocomplete="new-password" hint=PASSWORD_HINT
                        error=Signal::derive(move || err().and_then(|e| e.for_field("password")))/>
                    <button type="submit" class="rounded-md bg-indigo-700 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-800">
                        "Create account"
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}

const COLUMNS: &[Column] = &[
    Column::new("Email"),
    Column::new("Role"),
    Column::new("Created"),
    Column::new("Sessions"),
    Column::new("Active tokens"),
    Column::new("Status"),
    Column::hidden("Actions"),
];

#[component]
fn AccountTable(
    list: Vec<AccountSummary>,
    disable: ServerAction<SetAccountDisabled>,
    invalidate: ServerAction<InvalidateAccount>,
    reset: ServerAction<crate::rpc::security::ResetTwoFactor>,
) -> impl IntoView {
    let row = move |a: AccountSummary| {
        let disabled = a.disabled_at.is_some();
        let id = a.id.clone();
        let id2 = a.id.clone();
        let id3 = a.id.clone();
        let two_factor = a.two_factor;
        view! {
            <tr class=ROW data-account=a.email.clone()>
                <td class="px-4 py-2">{a.email.clone()}</td>
                <td class="px-4 py-2">{a.role.as_str()}</td>
                <td class="px-4 py-2 whitespace-nowrap">{a.created_at.display_utc()}</td>
                <td class="px-4 py-2">{a.active_sessions}</td>
                <td class="px-4 py-2">{a.active_tokens}</td>
                <td class="px-4 py-2">
                    {if disabled {
                        view! { <span class="rounded bg-red-100 px-1.5 py-0.5 text-xs text-red-800">"Disabled"</span> }.into_any()
                    } else {
                        view! { <span class="rounded bg-green-100 px-1.5 py-0.5 text-xs text-green-800">"Active"</span> }.into_any()
                    }}
                </td>
                <td class="px-4 py-2">
                    <div class="flex justify-end gap-3">
                        <a href=format!("/admin/accounts/{}/apps", a.id) class="text-sm text-indigo-700 hover:underline">"Connected apps"</a>
                        <ActionForm action=invalidate>
                            <input type="hidden" name="id" value=id/>
                            <button type="submit" class="text-sm text-slate-700 hover:underline">"End sessions and tokens"</button>
                        </ActionForm>
                        {two_factor.then(|| view! {
                            <ActionForm action=reset>
                                <input type="hidden" name="id" value=id3/>
                                <button type="submit" class="text-sm text-slate-700 hover:underline">"Reset two-factor"</button>
                            </ActionForm>
                        })}
                        <ActionForm action=disable>
                            <input type="hidden" name="id" value=id2/>
                            <input type="hidden" name="disabled" value=if disabled { "false" } else { "true" }/>
                            <button type="submit" class="text-sm text-red-700 hover:underline">
                                {if disabled { "Enable" } else { "Disable" }}
                            </button>
                        </ActionForm>
                    </div>
                </td>
            </tr>
        }
    };
    view! { <DataTable columns=COLUMNS rows=list row=row label="Accounts" empty="No accounts."/> }
}
