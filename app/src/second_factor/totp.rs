//! The authenticator app (TOTP, RFC 6238) through `totp-rs`: SHA-1, 6
//! digits, 30-second steps, one step of drift either way (what every
//! authenticator app does by default).
//!
//! The seed is sealed under the keyring (the server must read it back to
//! check codes), with the account id as the sealing context. The last
//! accepted step is stored with it and only a later step is accepted, in one
//! conditional UPDATE: a code cannot be used twice, also when two instances
//! receive it at once.

use base64::Engine;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::TotpEnrolment;
use crate::{
    db::Db,
    fault::{Fault, Input},
    keys::Keyring,
    types::{AccountId, Timestamp},
};

pub const DIGITS: u8 = 6;
pub const STEP_SECS: u64 = 30;
/// Bytes of a new seed: 160 bits, as RFC 4226 recommends.
const SEED_BYTES: usize = 20;
const ISSUER: &str = "Preqstation";

/// The sealing context of an account's seed: a sealed value copied to
/// another account's row does not open.
fn context(account: AccountId) -> String {
    format!("totp:{account}")
}

fn build(seed: Vec<u8>, account_name: &str) -> Result<Totp, Fault> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_step_duration(STEP_SECS)
        .with_skew(1)
        .with_secret(seed)
        .with_issuer(Some(ISSUER))
        // The otpauth label may not hold a colon.
        .with_account_name(account_name.replace(':', ""))
        .build()
        .map_err(|e| Fault::internal("totp", e))
}

/// The step a code matches at `now` (±1 step), if any. Anything but the
/// right number of digits never matches.
pub fn matching_step(totp: &Totp, code: &str, now: Timestamp) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs = u64::try_from(now.millis() / 1000).ok()?;
    totp.check(&code, secs)
}

/// Whether `code` looks like an authenticator code (rather than a password
/// or a recovery code).
pub fn looks_like_code(code: &str) -> bool {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == DIGITS as usize && digits.bytes().all(|b| b.is_ascii_digit())
}

#[derive(sqlx::FromRow)]
struct Row {
    secret_sealed: String,
    confirmed_at: Option<i64>,
}

async fn load(db: &Db, keys: &Keyring, account: AccountId) -> Result<Option<(Totp, bool)>, Fault> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT secret_sealed, confirmed_at FROM account_totp WHERE account_id = $1",
    )
    .bind(account.to_string())
    .fetch_optional(db)
    .await
    .map_err(|e| Fault::db("totp load", e))?;
    let Some(row) = row else { return Ok(None) };
    let seed = keys
        .open(&context(account), &row.secret_sealed)
        .map_err(|e| Fault::internal("totp seed", e))?;
    Ok(Some((
        build(seed.to_vec(), "")?,
        row.confirmed_at.is_some(),
    )))
}

/// Whether `account` has a confirmed authenticator app.
pub async fn is_on(db: &Db, account: AccountId) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM account_totp WHERE account_id = $1 AND confirmed_at IS NOT NULL",
    )
    .bind(account.to_string())
    .fetch_one(db)
    .await?;
    Ok(n > 0)
}

/// Starts (or restarts) setting up an authenticator app: a new seed, sealed
/// and stored unconfirmed, and what the page shows (QR code and text).
pub async fn start(
    db: &Db,
    keys: &Keyring,
    account: AccountId,
    email: &str,
    now: Timestamp,
) -> Result<TotpEnrolment, Fault> {
    if is_on(db, account)
        .await
        .map_err(|e| Fault::db("totp state", e))?
    {
        return Err(Fault::Conflict(
            "An authenticator app is already set up. Turn it off first to set up another.".into(),
        ));
    }
    let seed =
        crate::crypto::random_bytes::<SEED_BYTES>().map_err(|e| Fault::internal("totp seed", e))?;
    let sealed = keys
        .seal(&context(account), &seed)
        .map_err(|e| Fault::internal("totp seal", e))?;
    let totp = build(seed.to_vec(), email)?;
    let uri = totp.to_url().map_err(|e| Fault::internal("totp uri", e))?;
    let secret = Secret::from(seed.to_vec()).to_base32();
    sqlx::query("DELETE FROM account_totp WHERE account_id = $1 AND confirmed_at IS NULL")
        .bind(account.to_string())
        .execute(db)
        .await
        .map_err(|e| Fault::db("totp start", e))?;
    sqlx::query(
        "INSERT INTO account_totp (account_id, secret_sealed, created_at) VALUES ($1, $2, $3)",
    )
    .bind(account.to_string())
    .bind(sealed)
    .bind(now.millis())
    .execute(db)
    .await
    .map_err(|e| Fault::db("totp start", e))?;
    Ok(TotpEnrolment {
        qr_svg: qr_svg(&uri)?,
        secret,
        uri,
    })
}

/// The QR code of `uri` as an SVG document.
fn qr_svg(uri: &str) -> Result<String, Fault> {
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| Fault::internal("qr", e))?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// The QR code as a `data:` URL for an `<img>` (the CSP allows `data:`
/// images; no markup from the server is injected into the page).
pub fn data_url(svg: &str) -> String {
    format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    )
}

/// Checks a code against the unconfirmed enrolment and confirms it in `tx`
/// (the caller writes the rest of turning two-factor on in the same
/// transaction). `Ok(false)`: wrong code, or nothing to confirm.
pub async fn confirm(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    db: &Db,
    keys: &Keyring,
    account: AccountId,
    code: &str,
    now: Timestamp,
) -> Result<bool, Fault> {
    let Some((totp, false)) = load(db, keys, account).await? else {
        return Err(Fault::invalid(
            Input::Code,
            "Start the setup again: this one is no longer pending.",
        ));
    };
    let Some(step) = matching_step(&totp, code, now) else {
        return Ok(false);
    };
    let done = sqlx::query(
        "UPDATE account_totp SET confirmed_at = $1, last_step = $2 \
         WHERE account_id = $3 AND confirmed_at IS NULL",
    )
    .bind(now.millis())
    .bind(step as i64)
    .bind(account.to_string())
    .execute(&mut **tx)
    .await
    .map_err(|e| Fault::db("totp confirm", e))?;
    Ok(done.rows_affected() == 1)
}

/// What a code was, checked against a confirmed authenticator app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Accepted,
    /// Right, but its step (or a later one) was already used.
    Replayed,
    Wrong,
    /// No authenticator app is set up.
    NotSetUp,
}

/// Checks `code` and, when right, moves the account's last accepted step to
/// its step, only if that is later than the stored one: of two requests with
/// the same code, on any instances, one is accepted.
pub async fn accept(
    db: &Db,
    keys: &Keyring,
    account: AccountId,
    code: &str,
    now: Timestamp,
) -> Result<Check, Fault> {
    let Some((totp, true)) = load(db, keys, account).await? else {
        return Ok(Check::NotSetUp);
    };
    let Some(step) = matching_step(&totp, code, now) else {
        return Ok(Check::Wrong);
    };
    let done = sqlx::query(
        "UPDATE account_totp SET last_step = $1 \
         WHERE account_id = $2 AND confirmed_at IS NOT NULL \
               AND (last_step IS NULL OR last_step < $1)",
    )
    .bind(step as i64)
    .bind(account.to_string())
    .execute(db)
    .await
    .map_err(|e| Fault::db("totp accept", e))?;
    Ok(match done.rows_affected() {
        1 => Check::Accepted,
        _ => Check::Replayed,
    })
}

/// The code an app with this base32 seed shows at `at` (tests and the
/// command line; the server never needs it).
pub fn code_at(secret_base32: &str, at: Timestamp) -> Option<String> {
    let seed = Secret::try_from_base32(secret_base32).ok()?;
    let totp = build(seed.as_bytes().to_vec(), "").ok()?;
    Some(
        totp.generate(u64::try_from(at.millis() / 1000).ok()?)
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: every listed time, 8 digits, for the three
    /// algorithms with their 20-, 32- and 64-byte seeds.
    #[test]
    fn rfc6238_appendix_b_vectors() {
        let seed20 = b"12345678901234567890".to_vec();
        let seed32 = b"12345678901234567890123456789012".to_vec();
        let seed64 = b"1234567890123456789012345678901234567890123456789012345678901234".to_vec();
        let rows: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (alg, seed, col) in [
            (Algorithm::SHA1, &seed20, 1),
            (Algorithm::SHA256, &seed32, 2),
            (Algorithm::SHA512, &seed64, 3),
        ] {
            let totp = Builder::new()
                .with_algorithm(alg)
                .with_digits(8)
                .with_step_duration(30)
                .with_secret(seed.clone())
                .build_noncompliant();
            for row in rows {
                let want = [row.1, row.2, row.3][col - 1];
                assert_eq!(
                    totp.generate(row.0).to_string(),
                    want,
                    "{alg:?} at {}",
                    row.0
                );
            }
        }
    }

    #[test]
    fn drift_of_one_step_and_no_more() {
        let totp = build(b"12345678901234567890".to_vec(), "a@example.com").unwrap();
        let t = 1_111_111_111u64;
        let code = totp.generate(t).to_string();
        let at = |secs: u64| Timestamp(secs as i64 * 1000);
        assert_eq!(matching_step(&totp, &code, at(t)), Some(t / 30));
        assert_eq!(matching_step(&totp, &code, at(t + 30)), Some(t / 30));
        assert_eq!(matching_step(&totp, &code, at(t - 30)), Some(t / 30));
        assert_eq!(matching_step(&totp, &code, at(t + 90)), None);
        assert_eq!(matching_step(&totp, "12345", at(t)), None);
        assert_eq!(matching_step(&totp, "abcdef", at(t)), None);
        assert!(looks_like_code("123 456"));
        assert!(!looks_like_code("correct horse"));
    }
}
