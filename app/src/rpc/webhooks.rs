//! The webhook server functions (a door): Settings > Webhooks for the
//! signed-in account (an administrator sees and manages every endpoint).
//! Creating, changing, enabling and rolling a secret ask for sudo mode;
//! disabling, deleting, resending and a test event do not (stopping or
//! checking must be quick). Each calls [`crate::webhooks::service`].

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    audit::{AuditAction, Outcome},
    types::Timestamp,
    webhooks::{service, service::Caller, EndpointForm},
};
use crate::{
    error::AppError,
    webhooks::{CreatedEndpoint, DeliveryView, EndpointView},
};

#[cfg(feature = "ssr")]
fn caller(me: &crate::sessions::AuthSession) -> Caller {
    Caller {
        account: me.user.id,
        admin: me.user.is_admin(),
    }
}

/// The form's fields as the service's form: `events` is a list separated
/// by commas, spaces or lines; the two boxes add the group wildcards.
#[cfg(feature = "ssr")]
fn form(
    url: String,
    description: Option<String>,
    events: Option<String>,
    all_notifications: Option<String>,
    all_audit: Option<String>,
    batch_size: Option<String>,
    all_accounts: Option<String>,
) -> Result<EndpointForm, AppError> {
    let mut list: Vec<String> = events
        .unwrap_or_default()
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if all_notifications.is_some() {
        list.insert(0, "notification.*".into());
    }
    if all_audit.is_some() {
        list.insert(0, "audit.*".into());
    }
    let batch_size = match batch_size.as_deref().map(str::trim) {
        None | Some("") => 1,
        Some(n) => n.parse().map_err(|_| {
            AppError::field(
                "batch_size",
                "Events per request is a whole number from 1 to 100.",
            )
        })?,
    };
    Ok(EndpointForm {
        url,
        description: description.unwrap_or_default(),
        events: list,
        batch_size,
        all_accounts: all_accounts.is_some(),
    })
}

/// The signed-in account's endpoints (an administrator's: every endpoint).
#[server(prefix = "/rpc", endpoint = "webhooks/list")]
pub async fn list_webhooks() -> Result<Vec<EndpointView>, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    Ok(service::list(&cx.state.db, caller(me), Timestamp::now()).await?)
}

/// Registers an endpoint; the answer carries its signing secret, once.
#[server(prefix = "/rpc", endpoint = "webhooks/create")]
pub async fn create_webhook(
    url: String,
    description: Option<String>,
    events: Option<String>,
    all_notifications: Option<String>,
    all_audit: Option<String>,
    batch_size: Option<String>,
    all_accounts: Option<String>,
) -> Result<CreatedEndpoint, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_sudo()?;
    let form = form(
        url,
        description,
        events,
        all_notifications,
        all_audit,
        batch_size,
        all_accounts,
    )?;
    let base = cx.event(AuditAction::WebhookCreated, Outcome::Success);
    Ok(service::create(&cx.state, caller(me), &form, &base, Timestamp::now()).await?)
}

/// Changes an endpoint.
#[server(prefix = "/rpc", endpoint = "webhooks/update")]
#[allow(clippy::too_many_arguments)]
pub async fn update_webhook(
    id: String,
    url: String,
    description: Option<String>,
    events: Option<String>,
    all_notifications: Option<String>,
    all_audit: Option<String>,
    batch_size: Option<String>,
    all_accounts: Option<String>,
) -> Result<EndpointView, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_sudo()?;
    let form = form(
        url,
        description,
        events,
        all_notifications,
        all_audit,
        batch_size,
        all_accounts,
    )?;
    let base = cx.event(AuditAction::WebhookUpdated, Outcome::Success);
    Ok(service::update(
        &cx.state,
        caller(me),
        id.trim(),
        &form,
        &base,
        Timestamp::now(),
    )
    .await?)
}

/// Enables (sudo mode) or disables an endpoint.
#[server(prefix = "/rpc", endpoint = "webhooks/enable")]
pub async fn enable_webhook(id: String, enabled: bool) -> Result<EndpointView, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = if enabled {
        cx.require_sudo()?
    } else {
        cx.require_session()?
    };
    let base = cx.event(AuditAction::WebhookUpdated, Outcome::Success);
    Ok(service::set_enabled(
        &cx.state,
        caller(me),
        id.trim(),
        enabled,
        &base,
        Timestamp::now(),
    )
    .await?)
}

/// Deletes an endpoint and its delivery log.
#[server(prefix = "/rpc", endpoint = "webhooks/delete")]
pub async fn delete_webhook(id: String) -> Result<(), AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let base = cx.event(AuditAction::WebhookDeleted, Outcome::Success);
    Ok(service::delete(&cx.state, caller(me), id.trim(), &base, Timestamp::now()).await?)
}

/// A new signing secret, shown once; the old one signs too for 24 hours.
#[server(prefix = "/rpc", endpoint = "webhooks/roll-secret")]
pub async fn roll_webhook_secret(id: String) -> Result<CreatedEndpoint, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_sudo()?;
    let base = cx.event(AuditAction::WebhookSecretRolled, Outcome::Success);
    Ok(service::roll_secret(&cx.state, caller(me), id.trim(), &base, Timestamp::now()).await?)
}

/// An endpoint's delivery log, newest first (before sequence `before`).
#[server(prefix = "/rpc", endpoint = "webhooks/deliveries")]
pub async fn webhook_deliveries(
    id: String,
    before: Option<i64>,
) -> Result<Vec<DeliveryView>, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    Ok(service::deliveries(&cx.state.db, caller(me), id.trim(), before).await?)
}

/// Sends a delivery again (same id and sequence number).
#[server(prefix = "/rpc", endpoint = "webhooks/resend")]
pub async fn resend_webhook(id: String, delivery: String) -> Result<DeliveryView, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let base = cx.event(AuditAction::WebhookResent, Outcome::Success);
    Ok(service::resend(
        &cx.state,
        caller(me),
        id.trim(),
        delivery.trim(),
        &base,
        Timestamp::now(),
    )
    .await?)
}

/// Sends a `webhook.test` event and waits briefly for its answer.
#[server(prefix = "/rpc", endpoint = "webhooks/test")]
pub async fn test_webhook(id: String) -> Result<DeliveryView, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let base = cx.event(AuditAction::WebhookResent, Outcome::Success);
    Ok(service::send_test(&cx.state, caller(me), id.trim(), &base, Timestamp::now()).await?)
}
