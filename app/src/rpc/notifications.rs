//! The notifications' server functions (a door): the bell's unread count,
//! the list (opening it marks what it shows read), mark read / mark all
//! read, and Settings > Notifications, all for the signed-in account
//! through [`crate::notifications`].

use leptos::prelude::*;

use crate::error::AppError;
use crate::notifications::{NotificationPage, NotificationSettings};
#[cfg(feature = "ssr")]
use crate::{
    notifications::{inbox, prefs, Channel, NoticeKind},
    types::Timestamp,
};

/// The bell's number; 0 when nobody is signed in (the page redirects).
#[server(prefix = "/rpc", endpoint = "notifications/unread")]
pub async fn unread_notifications() -> Result<i64, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let Ok(me) = cx.require_session_allowing_enrolment() else {
        return Ok(0);
    };
    inbox::unread_count(&cx.state.db, me.user.id)
        .await
        .map_err(|e| AppError::db("unread notifications", e))
}

/// A page of the list, newest first (older than `before`, an id from the
/// previous page); what it shows is marked read.
#[server(prefix = "/rpc", endpoint = "notifications/open")]
pub async fn open_notifications(before: Option<String>) -> Result<NotificationPage, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let before = before
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty());
    if before
        .as_deref()
        .is_some_and(|b| uuid::Uuid::parse_str(b).is_err())
    {
        return Err(AppError::field("before", "Not a page of this list."));
    }
    inbox::open_page(
        &cx.state.db,
        me.user.id,
        before.as_deref(),
        Timestamp::now(),
    )
    .await
    .map_err(|e| AppError::db("open notifications", e))
}

/// Marks one notification read.
#[server(prefix = "/rpc", endpoint = "notifications/read")]
pub async fn mark_notification_read(id: String) -> Result<(), AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let found = inbox::mark_read(&cx.state.db, me.user.id, id.trim(), Timestamp::now())
        .await
        .map_err(|e| AppError::db("mark notification read", e))?;
    match found {
        true => Ok(()),
        false => Err(AppError::NotFound("No such notification.".into())),
    }
}

/// Marks every notification read; returns how many were unread.
#[server(prefix = "/rpc", endpoint = "notifications/read-all")]
pub async fn mark_all_notifications_read() -> Result<u64, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    inbox::mark_all_read(&cx.state.db, me.user.id, Timestamp::now())
        .await
        .map_err(|e| AppError::db("mark all notifications read", e))
}

/// Settings > Notifications: whether email is on here, where it goes, and
/// each event type's switches.
#[server(prefix = "/rpc", endpoint = "notifications/settings")]
pub async fn get_notification_settings() -> Result<NotificationSettings, AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let rows = prefs::rows(&cx.state.db, me.user.id, me.user.is_admin())
        .await
        .map_err(|e| AppError::db("notification settings", e))?;
    Ok(NotificationSettings {
        email_configured: cx.state.config.mail.is_some(),
        email_address: me.user.email.clone(),
        rows,
    })
}

/// Switches one event type on or off for one channel (`in_app`, `email`).
#[server(prefix = "/rpc", endpoint = "notifications/preference")]
pub async fn set_notification_preference(
    kind: String,
    channel: String,
    enabled: String,
) -> Result<(), AppError> {
    let cx = crate::web::ServerFnContext::get()?;
    let me = cx.require_session()?;
    let kind = NoticeKind::parse(kind.trim())
        .filter(|k| NoticeKind::for_role(me.user.is_admin()).any(|x| x == *k))
        .ok_or_else(|| AppError::field("kind", "Unknown notification type."))?;
    let channel = Channel::parse(channel.trim())
        .ok_or_else(|| AppError::field("channel", "Choose in_app or email."))?;
    let on = match enabled.trim() {
        "true" => true,
        "false" => false,
        _ => {
            return Err(AppError::field(
                "enabled",
                "Send enabled=true or enabled=false.",
            ))
        }
    };
    let event = cx.event(
        crate::audit::AuditAction::NotificationSettingsChanged,
        crate::audit::Outcome::Success,
    );
    prefs::set(
        &cx.state.db,
        &cx.state.config.keys,
        me.user.id,
        (kind, channel, on),
        event,
        Timestamp::now(),
    )
    .await
    .map_err(Into::into)
}
