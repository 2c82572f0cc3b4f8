//! The signed-in shell (header with the account and Sign out, navigation)
//! and the dashboard's home page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Outlet, Redirect, A},
    hooks::use_location,
};

use crate::{
    auth::{get_current_user, Logout},
    types::CurrentUser,
};

#[component]
pub fn DashboardLayout() -> impl IntoView {
    let user = Resource::new(|| (), |_| get_current_user());
    provide_context(user);
    let logout = ServerAction::<Logout>::new();
    view! {
        <div class="min-h-screen">
            <header class="border-b border-slate-200 bg-white">
                <div class="mx-auto flex max-w-7xl items-center justify-between px-6 py-3">
                    <a href="/" class="text-sm font-bold tracking-wide text-indigo-700">"PREQSTATION"</a>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            match user.await {
                                Ok(Some(u)) => view! { <AccountMenu user=u logout=logout/> }.into_any(),
                                Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                                Err(e) => view! { <span class="text-sm text-red-700">{e.to_string()}</span> }.into_any(),
                            }
                        })}
                    </Transition>
                </div>
            </header>
            <div class="mx-auto flex max-w-7xl gap-8 px-6 py-8">
                <Nav user=user/>
                <main class="min-w-0 flex-1">
                    <Outlet/>
                </main>
            </div>
        </div>
    }
}

#[component]
fn AccountMenu(user: CurrentUser, logout: ServerAction<Logout>) -> impl IntoView {
    view! {
        <div class="flex items-center gap-4 text-sm">
            <span data-testid="account-email" class="text-slate-700">{user.email.clone()}</span>
            <span class="rounded bg-slate-100 px-2 py-0.5 text-xs uppercase text-slate-600">{user.role.as_str()}</span>
            <ActionForm action=logout>
                <button type="submit" class="rounded-md border border-slate-300 px-3 py-1 text-slate-700 hover:bg-slate-50">
                    "Sign out"
                </button>
            </ActionForm>
        </div>
    }
}

#[component]
fn Nav(user: Resource<Result<Option<CurrentUser>, crate::error::AppError>>) -> impl IntoView {
    let location = use_location();
    let link = move |href: &'static str, label: &'static str| {
        let active = move || location.pathname.get() == href;
        view! {
            <A href=href attr:class=move || {
                if active() {
                    "block rounded-md bg-indigo-50 px-3 py-2 text-sm font-medium text-indigo-800"
                } else {
                    "block rounded-md px-3 py-2 text-sm text-slate-700 hover:bg-slate-100"
                }
            }>{label}</A>
        }
    };
    view! {
        <nav class="w-44 shrink-0" aria-label="Main">
            {link("/", "Overview")}
            {link("/projects", "Projects")}
            <p class="mt-6 px-3 text-xs font-semibold uppercase tracking-wide text-slate-500">"Settings"</p>
            {link("/settings/api-keys", "API Keys")}
            {link("/settings/sessions", "Sessions")}
            {link("/settings/audit-logs", "Audit Logs")}
            {link("/settings/account", "Account")}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let admin = matches!(user.await, Ok(Some(u)) if u.is_admin());
                    admin.then(|| view! {
                        <p class="mt-6 px-3 text-xs font-semibold uppercase tracking-wide text-slate-500">"Admin"</p>
                        {link("/admin/accounts", "Accounts")}
                        {link("/settings/policies", "Policies")}
                    })
                })}
            </Transition>
        </nav>
    }
}

#[component]
pub fn Home() -> impl IntoView {
    view! {
        <Title text="Overview · Preqstation"/>
        <h1 class="text-2xl font-semibold">"Overview"</h1>
        <p class="mt-2 max-w-2xl text-slate-600">
            "Preqstation issues the API tokens your coding agents use, and records what they do with them."
        </p>
        <div class="mt-8 grid gap-4 sm:grid-cols-2">
            <Card href="/settings/api-keys" title="API Keys" text="Issue, list and revoke tokens for your agents."/>
            <Card href="/projects" title="Projects" text="The projects and tasks your agents work on."/>
            <Card href="/settings/sessions" title="Sessions" text="Where you are signed in; end any session."/>
            <Card href="/settings/audit-logs" title="Audit Logs" text="Sign-ins, token use and changes."/>
        </div>
    }
}

#[component]
fn Card(href: &'static str, title: &'static str, text: &'static str) -> impl IntoView {
    view! {
        <A href=href attr:class="block rounded-lg border border-slate-200 bg-white p-5 shadow-sm hover:border-indigo-300">
            <h2 class="font-semibold">{title}</h2>
            <p class="mt-1 text-sm text-slate-600">{text}</p>
        </A>
    }
}

/// An honest empty state for a part of the product that is not built yet.
#[component]
pub fn NotYetAvailable(title: &'static str, what: &'static str) -> impl IntoView {
    view! {
        <Title text=format!("{title} · Preqstation")/>
        <h1 class="text-2xl font-semibold">{title}</h1>
        <div class="mt-6 rounded-lg border border-dashed border-slate-300 bg-white p-8 text-center">
            <p class="font-medium">"Not yet available"</p>
            <p class="mt-1 text-sm text-slate-600">{what} " will appear here in a coming release."</p>
        </div>
    }
}
