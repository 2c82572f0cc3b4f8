//! An owner's notification choices: per event type and channel, stored only
//! where they differ from the default. Security events are always on in the
//! dashboard, whatever is stored.

use super::{Channel, NoticeKind, PreferenceRow};
use crate::types::AccountId;

/// The stored choices of one account for one or more event types.
#[derive(Debug, Default, Clone)]
pub struct Choices(Vec<(NoticeKind, Channel, bool)>);

impl Choices {
    /// Whether `kind` goes to `channel`.
    pub fn is_on(&self, kind: NoticeKind, channel: Channel) -> bool {
        if channel == Channel::InApp && kind.is_security() {
            return true;
        }
        self.0
            .iter()
            .find(|(k, c, _)| *k == kind && *c == channel)
            .map(|(_, _, on)| *on)
            .unwrap_or_else(|| kind.default_on(channel))
    }
}

#[derive(sqlx::FromRow)]
struct PrefRow {
    kind: String,
    channel: String,
    enabled: i64,
}

fn parse(rows: Vec<PrefRow>) -> Choices {
    Choices(
        rows.into_iter()
            .filter_map(|r| {
                Some((
                    NoticeKind::parse(&r.kind)?,
                    Channel::parse(&r.channel)?,
                    r.enabled != 0,
                ))
            })
            .collect(),
    )
}

/// The account's choices for `kind`.
pub async fn choices(
    conn: &mut sqlx::AnyConnection,
    account: &str,
    kind: NoticeKind,
) -> Result<Choices, sqlx::Error> {
    let rows: Vec<PrefRow> = sqlx::query_as(
        "SELECT kind, channel, enabled FROM notification_prefs WHERE account_id = $1 AND kind = $2",
    )
    .bind(account)
    .bind(kind.as_str())
    .fetch_all(conn)
    .await?;
    Ok(parse(rows))
}

/// The preferences page's rows for the account (admins see the
/// administrators' event types too).
pub async fn rows(
    db: &crate::db::Db,
    account: AccountId,
    admin: bool,
) -> Result<Vec<PreferenceRow>, sqlx::Error> {
    let stored: Vec<PrefRow> = sqlx::query_as(
        "SELECT kind, channel, enabled FROM notification_prefs WHERE account_id = $1",
    )
    .bind(account.to_string())
    .fetch_all(db)
    .await?;
    let choices = parse(stored);
    Ok(NoticeKind::for_role(admin)
        .map(|kind| PreferenceRow {
            kind,
            label: kind.label().to_string(),
            security: kind.is_security(),
            in_app: choices.is_on(kind, Channel::InApp),
            email: choices.is_on(kind, Channel::Email),
        })
        .collect())
}

/// Sets one switch, with its audit entry (`event`) in the same
/// transaction. Switching a security event off in the dashboard is refused.
pub async fn set(
    db: &crate::db::Db,
    keys: &crate::keys::Keyring,
    account: AccountId,
    (kind, channel, on): (NoticeKind, Channel, bool),
    event: crate::audit::NewEvent,
    now: crate::types::Timestamp,
) -> Result<(), crate::fault::Fault> {
    if channel == Channel::InApp && kind.is_security() && !on {
        return Err(crate::fault::Fault::invalid(
            crate::fault::Input::NotificationChoice,
            "Security notifications always appear in the dashboard; you can switch off their email.",
        ));
    }
    let run = async {
        let mut tx = db.begin().await?;
        store(&mut tx, account, kind, channel, on).await?;
        let event = event
            .account(account)
            .target(kind.as_str())
            .detail("channel", channel.as_str())
            .detail("enabled", on);
        crate::audit::chain::append(&mut tx, keys, &[event], now).await?;
        tx.commit().await
    };
    run.await
        .map_err(|e| crate::fault::Fault::db("notification preference", e))
}

async fn store(
    conn: &mut sqlx::AnyConnection,
    account: AccountId,
    kind: NoticeKind,
    channel: Channel,
    on: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notification_prefs (account_id, kind, channel, enabled) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account_id, kind, channel) DO UPDATE SET enabled = excluded.enabled",
    )
    .bind(account.to_string())
    .bind(kind.as_str())
    .bind(channel.as_str())
    .bind(i64::from(on))
    .execute(conn)
    .await?;
    Ok(())
}
