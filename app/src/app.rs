//! The HTML shell and the route table of the dashboard.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path,
};

use crate::pages::{
    account::AccountPage,
    admin_accounts::AdminAccountsPage,
    api_keys::ApiKeysPage,
    audit::AuditPage,
    dashboard::{DashboardLayout, Home},
    login::LoginPage,
    policies::PoliciesPage,
    projects::{ProjectPage, ProjectsPage},
    sessions::SessionsPage,
    setup::SetupPage,
};

/// The document around the app, rendered on the server only. The asset
/// names carry the bundle's content hash (`options.output_name`), so the
/// stylesheet is linked here, where the options are, rather than in `App`,
/// which the browser renders too without knowing the hash.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // `id="leptos"` is the link cargo-leptos' live reload swaps.
    let stylesheet = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="stylesheet" id="leptos" href=stylesheet/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="bg-slate-50 text-slate-900 antialiased">
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Preqstation"/>
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/setup") view=SetupPage/>
                <Route path=path!("/login") view=LoginPage/>
                <Route path=path!("/login/two-factor") view=crate::pages::login_two_factor::TwoFactorPage/>
                <Route path=path!("/oauth/consent") view=crate::pages::consent::ConsentPage/>
                <ParentRoute path=path!("") view=DashboardLayout>
                    <Route path=path!("") view=Home/>
                    <Route path=path!("/settings/api-keys") view=ApiKeysPage/>
                    <Route path=path!("/settings/api-keys/:id") view=crate::pages::token_page::TokenPage/>
                    <Route path=path!("/settings/policies") view=PoliciesPage/>
                    <Route path=path!("/settings/account") view=AccountPage/>
                    <Route path=path!("/settings/security") view=crate::pages::security::SecurityPage/>
                    <Route path=path!("/admin/accounts") view=AdminAccountsPage/>
                    <Route path=path!("/admin/credentials") view=crate::pages::admin_credentials::AdminCredentialsPage/>
                    <Route path=path!("/admin/accounts/:id/apps") view=crate::pages::connected_apps::AccountAppsPage/>
                    <Route path=path!("/settings/sessions") view=SessionsPage/>
                    <Route path=path!("/settings/connected-apps") view=crate::pages::connected_apps::ConnectedAppsPage/>
                    <Route path=path!("/settings/connected-apps/:id") view=crate::pages::connected_apps::AppPage/>
                    <Route path=path!("/settings/audit-logs") view=AuditPage/>
                    <Route path=path!("/settings/notifications") view=crate::pages::notifications::NotificationSettingsPage/>
                    <Route path=path!("/settings/webhooks") view=crate::pages::webhooks::WebhooksPage/>
                    <Route path=path!("/settings/federation") view=crate::pages::federation::FederationPage/>
                    <Route path=path!("/notifications") view=crate::pages::notifications::NotificationsPage/>
                    <Route path=path!("/projects") view=ProjectsPage/>
                    <Route path=path!("/projects/:id") view=ProjectPage/>
                    <Route path=path!("/tasks/:id/logs") view=crate::pages::task_logs::TaskLogsPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found · Preqstation"/>
        <main class="mx-auto max-w-md px-6 py-24 text-center">
            <h1 class="text-2xl font-semibold">"Page not found"</h1>
            <p class="mt-2 text-slate-600">"There is nothing at this address."</p>
            <a href="/" class="mt-6 inline-block text-indigo-700 hover:underline">"Go to the dashboard"</a>
        </main>
    }
}
