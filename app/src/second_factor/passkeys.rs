//! Passkeys as a second factor, through `webauthn-rs` (the kanidm
//! project's audited crate): user verification required, one or more per
//! account, each named, listed with its last use, removable.
//!
//! The relying-party id is the public URL's host, which WebAuthn requires to
//! be a domain: a server reached by an IP address offers no passkeys
//! ([`unavailable`] says why). Ceremony states live in `auth_challenges`
//! (serialised), so any instance can finish what another began.
//!
//! Counters: `webauthn-rs` refuses an assertion whose signature counter is
//! not above the stored one when either is nonzero (synced passkeys always
//! report 0 and are never compared); the stored counter only moves forward
//! (a conditional UPDATE), and a refusal is a security event.

use base64::Engine;
use webauthn_rs::prelude::*;

use super::{
    challenge::{self, Purpose},
    PasskeyView,
};
use crate::{
    config::Config,
    db::Db,
    fault::{Fault, Input},
    types::{AccountId, Timestamp},
};

/// Passkeys an account may register.
pub const MAX_PER_ACCOUNT: i64 = 10;
const NAME_MAX_CHARS: usize = 60;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Why this server offers no passkeys, if it does not.
pub fn unavailable(cfg: &Config) -> Option<String> {
    webauthn(cfg).err()
}

/// The relying party, from the public URL.
pub fn webauthn(cfg: &Config) -> Result<Webauthn, String> {
    let url = Url::parse(&cfg.public_url).map_err(|_| "The public URL is not a valid URL.")?;
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(_) => {
            return Err(format!(
                "Passkeys need the server to be reached by a domain name: its public URL ({}) \
                 names an IP address, which WebAuthn does not accept as a relying party. Set \
                 PREQSTATION_PUBLIC_URL to a name such as https://preqstation.example.com.",
                cfg.public_url
            ))
        }
        None => return Err("The public URL has no host.".into()),
    };
    WebauthnBuilder::new(&host, &url)
        .and_then(|b| b.rp_name("Preqstation").build())
        .map_err(|e| format!("Passkeys are not available with this public URL ({e})."))
}

fn rp(cfg: &Config) -> Result<Webauthn, Fault> {
    webauthn(cfg).map_err(|m| Fault::invalid(Input::PasskeyName, m))
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    passkey: String,
    counter: i64,
    created_at: i64,
    last_used_at: Option<i64>,
}

async fn rows(db: &Db, account: AccountId) -> Result<Vec<Row>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, passkey, counter, created_at, last_used_at FROM passkeys \
         WHERE account_id = $1 ORDER BY created_at",
    )
    .bind(account.to_string())
    .fetch_all(db)
    .await
}

/// The account's passkeys, oldest first.
pub async fn list(db: &Db, account: AccountId) -> Result<Vec<PasskeyView>, sqlx::Error> {
    Ok(rows(db, account)
        .await?
        .into_iter()
        .map(|r| PasskeyView {
            id: r.id,
            name: r.name,
            created_at: Timestamp(r.created_at),
            last_used_at: r.last_used_at.map(Timestamp),
        })
        .collect())
}

fn parse(rows: &[Row]) -> Vec<Passkey> {
    rows.iter()
        .filter_map(|r| serde_json::from_str::<Passkey>(&r.passkey).ok())
        .collect()
}

/// The `user.id` WebAuthn stores with a passkey: the account id's bytes.
fn user_handle(account: AccountId) -> Result<Uuid, Fault> {
    Uuid::parse_str(&account.to_string()).map_err(|e| Fault::internal("account id", e))
}

/// Begins registering a passkey for the session `session_hash`; returns
/// the creation options for `navigator.credentials.create()` (JSON).
pub async fn register_start(
    db: &Db,
    cfg: &Config,
    account: AccountId,
    email: &str,
    session_hash: &str,
    now: Timestamp,
) -> Result<String, Fault> {
    let rp = rp(cfg)?;
    let existing = rows(db, account)
        .await
        .map_err(|e| Fault::db("passkeys", e))?;
    if existing.len() as i64 >= MAX_PER_ACCOUNT {
        return Err(Fault::invalid(
            Input::PasskeyName,
            format!("An account can have {MAX_PER_ACCOUNT} passkeys. Remove one first."),
        ));
    }
    let exclude = parse(&existing)
        .iter()
        .map(|p| p.cred_id().clone())
        .collect::<Vec<_>>();
    let (options, state) = rp
        .start_passkey_registration(user_handle(account)?, email, email, Some(exclude))
        .map_err(|e| Fault::internal("passkey registration", e))?;
    let state = serde_json::to_string(&state).map_err(|e| Fault::internal("passkey state", e))?;
    challenge::put(
        db,
        &challenge::key(Purpose::PasskeyRegister, session_hash),
        account,
        Purpose::PasskeyRegister,
        false,
        Some(&state),
        now,
    )
    .await?;
    serde_json::to_string(&options).map_err(|e| Fault::internal("passkey options", e))
}

/// A passkey name as stored: trimmed, 1 to 60 characters.
pub fn valid_name(name: &str) -> Result<String, Fault> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Fault::invalid(
            Input::PasskeyName,
            "Name the passkey (for example “Laptop” or “Phone”).",
        ));
    }
    if name.chars().count() > NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(Fault::invalid(
            Input::PasskeyName,
            format!("Use at most {NAME_MAX_CHARS} characters, without control characters."),
        ));
    }
    Ok(name.to_string())
}

/// Takes (once) the state of a registration begun by [`register_start`]
/// from the session `session_hash`.
pub async fn take_registration(
    db: &Db,
    account: AccountId,
    session_hash: &str,
    now: Timestamp,
) -> Result<String, Fault> {
    challenge::take(
        db,
        &challenge::key(Purpose::PasskeyRegister, session_hash),
        account,
        Purpose::PasskeyRegister,
        now,
    )
    .await?
    .ok_or_else(|| {
        Fault::invalid(
            Input::PasskeyName,
            "This passkey registration expired. Start again.",
        )
    })
}

/// Finishes a registration with its `state` (from [`take_registration`])
/// and stores the passkey in `tx`. Returns its id.
pub async fn register_finish(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    cfg: &Config,
    account: AccountId,
    state: &str,
    name: &str,
    credential: &str,
    now: Timestamp,
) -> Result<String, Fault> {
    let rp = rp(cfg)?;
    let state: PasskeyRegistration =
        serde_json::from_str(state).map_err(|e| Fault::internal("passkey state", e))?;
    let credential: RegisterPublicKeyCredential =
        serde_json::from_str(credential).map_err(|_| {
            Fault::invalid(
                Input::PasskeyName,
                "The browser's answer could not be read.",
            )
        })?;
    let passkey = rp
        .finish_passkey_registration(&credential, &state)
        .map_err(|e| {
            tracing::warn!(error = %e, "passkey registration refused");
            Fault::invalid(
                Input::PasskeyName,
                "The authenticator's answer was not accepted. Try again.",
            )
        })?;
    let id = uuid::Uuid::now_v7().to_string();
    let json = serde_json::to_string(&passkey).map_err(|e| Fault::internal("passkey", e))?;
    let done = sqlx::query(
        "INSERT INTO passkeys (id, account_id, credential_id, name, passkey, counter, created_at) \
         VALUES ($1, $2, $3, $4, $5, 0, $6) ON CONFLICT (credential_id) DO NOTHING",
    )
    .bind(&id)
    .bind(account.to_string())
    .bind(b64(passkey.cred_id()))
    .bind(name)
    .bind(json)
    .bind(now.millis())
    .execute(&mut **tx)
    .await
    .map_err(|e| Fault::db("passkey insert", e))?;
    if done.rows_affected() != 1 {
        return Err(Fault::invalid(
            Input::PasskeyName,
            "This passkey is already registered.",
        ));
    }
    Ok(id)
}

/// Begins an assertion with the account's passkeys; the state is kept with
/// the half-signed-in row `pending`. Returns the request options (JSON).
pub async fn sign_in_start(
    db: &Db,
    cfg: &Config,
    pending: &challenge::Pending,
) -> Result<String, Fault> {
    let rp = rp(cfg)?;
    let keys = parse(
        &rows(db, pending.account)
            .await
            .map_err(|e| Fault::db("passkeys", e))?,
    );
    if keys.is_empty() {
        return Err(Fault::invalid(
            Input::Code,
            "This account has no passkey. Use your authenticator app or a recovery code.",
        ));
    }
    let (options, state) = rp
        .start_passkey_authentication(&keys)
        .map_err(|e| Fault::internal("passkey authentication", e))?;
    let state = serde_json::to_string(&state).map_err(|e| Fault::internal("passkey state", e))?;
    challenge::set_state(db, &pending.id_hash, &state).await?;
    serde_json::to_string(&options).map_err(|e| Fault::internal("passkey options", e))
}

/// The outcome of an assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assertion {
    /// Accepted; the passkey's name.
    Accepted(String),
    Refused,
    /// The counter did not move forward: the authenticator may be cloned.
    /// The passkey's name.
    CounterWentBack(String),
}

/// Checks an assertion against the state kept by [`sign_in_start`].
pub async fn sign_in_finish(
    db: &Db,
    cfg: &Config,
    account: AccountId,
    state: Option<&str>,
    credential: &str,
    now: Timestamp,
) -> Result<Assertion, Fault> {
    let rp = rp(cfg)?;
    let Some(state) = state else {
        return Ok(Assertion::Refused);
    };
    let state: PasskeyAuthentication =
        serde_json::from_str(state).map_err(|e| Fault::internal("passkey state", e))?;
    let Ok(credential) = serde_json::from_str::<PublicKeyCredential>(credential) else {
        return Ok(Assertion::Refused);
    };
    let presented = b64(&credential.raw_id);
    let stored = rows(db, account)
        .await
        .map_err(|e| Fault::db("passkeys", e))?;
    let Some(row) = stored.iter().find(|r| {
        serde_json::from_str::<Passkey>(&r.passkey)
            .map(|p| b64(p.cred_id()) == presented)
            .unwrap_or(false)
    }) else {
        return Ok(Assertion::Refused);
    };
    let result = match rp.finish_passkey_authentication(&credential, &state) {
        Ok(r) => r,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            return Ok(Assertion::CounterWentBack(row.name.clone()))
        }
        Err(e) => {
            tracing::warn!(error = %e, "passkey assertion refused");
            return Ok(Assertion::Refused);
        }
    };
    let mut passkey: Passkey =
        serde_json::from_str(&row.passkey).map_err(|e| Fault::internal("passkey", e))?;
    passkey.update_credential(&result);
    let counter = i64::from(result.counter());
    let json = serde_json::to_string(&passkey).map_err(|e| Fault::internal("passkey", e))?;
    // Only forward: of two assertions with the same counter (a copy used in
    // parallel, on any instance), one moves it and the other is refused.
    let done = sqlx::query(
        "UPDATE passkeys SET passkey = $1, counter = $2, last_used_at = $3 \
         WHERE id = $4 AND account_id = $5 AND (counter < $2 OR ($2 = 0 AND counter = 0))",
    )
    .bind(json)
    .bind(counter)
    .bind(now.millis())
    .bind(&row.id)
    .bind(account.to_string())
    .execute(db)
    .await
    .map_err(|e| Fault::db("passkey use", e))?;
    if done.rows_affected() != 1 {
        return Ok(if counter > 0 || row.counter > 0 {
            Assertion::CounterWentBack(row.name.clone())
        } else {
            Assertion::Refused
        });
    }
    Ok(Assertion::Accepted(row.name.clone()))
}

/// Removes one of the account's passkeys, in `tx`; its name when it existed.
pub async fn remove(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    account: AccountId,
    id: &str,
) -> Result<Option<String>, Fault> {
    let name: Option<String> =
        sqlx::query_scalar("SELECT name FROM passkeys WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account.to_string())
            .fetch_optional(&mut **tx)
            .await
            .map_err(|e| Fault::db("passkey remove", e))?;
    if name.is_some() {
        sqlx::query("DELETE FROM passkeys WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account.to_string())
            .execute(&mut **tx)
            .await
            .map_err(|e| Fault::db("passkey remove", e))?;
    }
    Ok(name)
}

/// How many passkeys the account has.
pub async fn count(db: &Db, account: AccountId) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM passkeys WHERE account_id = $1")
        .bind(account.to_string())
        .fetch_one(db)
        .await
}
