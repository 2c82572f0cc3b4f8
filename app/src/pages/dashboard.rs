//! The signed-in shell (header with the account and Sign out, navigation)
//! and the dashboard's home page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Outlet, Redirect, A},
    hooks::use_location,
};

use crate::{
    pages::notifications::BellVersion,
    rpc::{
        auth::{get_current_user, Logout},
        notifications::unread_notifications,
    },
    types::CurrentUser,
};

#[component]
pub fn DashboardLayout() -> impl IntoView {
    let user = Resource::new(|| (), |_| get_current_user());
    provide_context(user);
    let logout = ServerAction::<Logout>::new();
    // The bell counts on every navigation (and when a page marks
    // notifications read): no polling.
    let location = use_location();
    let bell = BellVersion(RwSignal::new(0));
    provide_context(bell);
    let unread = Resource::new(
        move || (location.pathname.get(), bell.0.get()),
        |_| unread_notifications(),
    );
    view! {
        <div class="min-h-screen">
            <header class="border-b border-slate-200 bg-white">
                <div class="mx-auto flex max-w-7xl flex-wrap items-center justify-between gap-2 px-4 py-3 md:px-6">
                    <a href="/" class="text-sm font-bold tracking-wide text-indigo-700">"PREQSTATION"</a>
                    <div class="flex items-center gap-3 md:gap-4">
                    <Bell unread=unread/>
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
                </div>
            </header>
            <div class="mx-auto flex max-w-7xl flex-col gap-6 px-4 py-6 md:flex-row md:gap-8 md:px-6 md:py-8">
                <Nav user=user/>
                <main class="min-w-0 flex-1">
                    <Outlet/>
                </main>
            </div>
        </div>
    }
}

/// The bell: a link to the list, with the unread count.
#[component]
fn Bell(unread: Resource<Result<i64, crate::error::AppError>>) -> impl IntoView {
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let n = unread.await.unwrap_or(0);
                let label = match n {
                    0 => "Notifications".to_string(),
                    1 => "Notifications, 1 unread".to_string(),
                    n => format!("Notifications, {n} unread"),
                };
                view! {
                    <A href="/notifications" attr:class="relative inline-flex rounded-md p-1.5 text-slate-600 hover:bg-slate-100" attr:aria-label=label attr:data-testid="bell">
                        <svg aria-hidden="true" viewBox="0 0 24 24" class="h-5 w-5" fill="none" stroke="currentColor" stroke-width="1.8">
                            <path d="M6 8a6 6 0 1 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/><path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"/>
                        </svg>
                        {(n > 0).then(|| view! {
                            <span data-testid="bell-count" class="absolute -right-1 -top-1 min-w-5 rounded-full bg-red-600 px-1 text-center text-xs font-semibold leading-5 text-white">
                                {if n > 99 { "99+".to_string() } else { n.to_string() }}
                            </span>
                        })}
                    </A>
                }
            })}
        </Transition>
    }
}

#[component]
fn AccountMenu(user: CurrentUser, logout: ServerAction<Logout>) -> impl IntoView {
    view! {
        <div class="flex min-w-0 items-center gap-3 text-sm md:gap-4">
            <span data-testid="account-email" class="max-w-48 truncate text-slate-700 md:max-w-none">{user.email.clone()}</span>
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
        <nav class="flex shrink-0 flex-wrap gap-1 md:block md:w-44" aria-label="Main">
            {link("/", "Overview")}
            {link("/projects", "Projects")}
            <p class="mt-6 hidden px-3 text-xs font-semibold uppercase tracking-wide text-slate-500 md:block">"Settings"</p>
            {link("/settings/api-keys", "API Keys")}
            {link("/settings/sessions", "Sessions")}
            {link("/settings/connected-apps", "Connected apps")}
            {link("/settings/notifications", "Notifications")}
            {link("/settings/webhooks", "Webhooks")}
            {link("/settings/federation", "Federation")}
            {link("/settings/audit-logs", "Audit Logs")}
            {link("/settings/account", "Account")}
            {link("/settings/security", "Security")}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let admin = matches!(user.await, Ok(Some(u)) if u.is_admin());
                    admin.then(|| view! {
                        <p class="mt-6 hidden px-3 text-xs font-semibold uppercase tracking-wide text-slate-500 md:block">"Admin"</p>
                        {link("/admin/accounts", "Accounts")}
                        {link("/admin/credentials", "Credentials")}
                        {link("/settings/policies", "Policies")}
                    })
                })}
            </Transition>
        </nav>
    }
}

#[component]
pub fn Home() -> impl IntoView {
    let overview = Resource::new(|| (), |_| crate::overview::get_overview());
    view! {
        <Title text="Overview · Preqstation"/>
        <h1 class="text-2xl font-semibold">"Overview"</h1>
        <p class="mt-2 max-w-2xl text-slate-600">
            "Preqstation issues the API tokens your coding agents use, and records what they do with them."
        </p>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                overview.await.ok().map(|o| view! {
                    <div class="mt-6 grid gap-4 sm:grid-cols-2">
                        <div class="rounded-lg border border-slate-200 bg-white p-5" data-testid="overview-tokens">
                            <p class="text-sm text-slate-500">"Active API tokens"</p>
                            <p class="mt-1 text-2xl font-semibold">{format!("{} of {}", o.active_tokens, o.max_active_tokens)}</p>
                            {(!o.expiring_soon.is_empty()).then(|| view! {
                                <ul class="mt-2 text-sm text-amber-900">
                                    {o.expiring_soon.iter().map(|t| view! {
                                        <li>{format!("{} ({}) expires {}", t.name, t.prefix,
                                            t.expires_at.map(|e| crate::types::relative(e, t.now)).unwrap_or_default())}</li>
                                    }).collect::<Vec<_>>()}
                                </ul>
                            })}
                        </div>
                        <div class="rounded-lg border border-slate-200 bg-white p-5">
                            <p class="text-sm text-slate-500">"Recent security events"</p>
                            {if o.recent_security_events.is_empty() {
                                view! { <p class="mt-1 text-sm text-slate-600">"None: no failed sign-ins, misused tokens or rate limiting lately."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="mt-1 grid gap-1 text-sm">
                                        {o.recent_security_events.iter().map(|e| view! {
                                            <li><span class="text-xs text-slate-500">{e.at.display_utc()}</span>" "
                                                <code class="text-xs text-red-800">{e.action.clone()}</code>" "
                                                {e.token_prefix.clone().or(e.target.clone()).unwrap_or_default()}</li>
                                        }).collect::<Vec<_>>()}
                                    </ul>
                                    <A href="/settings/audit-logs" attr:class="mt-2 inline-block text-sm text-indigo-700 hover:underline">"Audit Logs"</A>
                                }.into_any()
                            }}
                        </div>
                    </div>
                })
            })}
        </Transition>
        <div class="mt-8 grid gap-4 sm:grid-cols-2">
            <Card href="/settings/api-keys" title="API Keys" text="Issue, rotate and revoke tokens for your agents."/>
            <Card href="/projects" title="Projects" text="The projects and tasks your agents work on."/>
            <Card href="/settings/sessions" title="Sessions" text="Where you are signed in; end any session."/>
            <Card href="/settings/audit-logs" title="Audit Logs" text="Sign-ins, token use and changes, hash-chained."/>
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
