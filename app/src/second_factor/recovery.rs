//! Recovery codes: ten single-use codes (`xxxxx-xxxxx`, 10 characters of a
//! 31-letter alphabet without look-alikes: about 49 bits each, behind the
//! sign-in throttle), shown once and stored as SHA-256 of the account id and
//! the code. Regenerating replaces all of them.

use super::{RecoveryCodes, RECOVERY_CODES};
use crate::{
    db::Db,
    fault::Fault,
    types::{AccountId, Timestamp},
};

const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
const LEN: usize = 10;

fn hash(account: AccountId, normalized: &str) -> String {
    crate::crypto::sha256_hex(format!("recovery:{account}:{normalized}").as_bytes())
}

/// The code as stored: lower case, without spaces or the dash.
pub fn normalize(code: &str) -> Option<String> {
    let s: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    (s.len() == LEN && s.bytes().all(|b| ALPHABET.contains(&b))).then_some(s)
}

fn generate_one() -> Result<String, Fault> {
    let bytes = crate::crypto::random_bytes::<32>().map_err(|e| Fault::internal("random", e))?;
    // Rejection sampling keeps every letter equally likely.
    let limit = 256 - 256 % ALPHABET.len();
    let letters: Vec<u8> = bytes
        .iter()
        .filter(|b| (**b as usize) < limit)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()])
        .take(LEN)
        .collect();
    if letters.len() < LEN {
        return generate_one();
    }
    let s = String::from_utf8_lossy(&letters).into_owned();
    Ok(format!("{}-{}", &s[..5], &s[5..]))
}

/// Replaces the account's codes with ten new ones, in `tx`; returns them
/// (the only time they exist outside the browser).
pub async fn replace(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    account: AccountId,
    now: Timestamp,
) -> Result<RecoveryCodes, Fault> {
    sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
        .bind(account.to_string())
        .execute(&mut **tx)
        .await
        .map_err(|e| Fault::db("recovery codes", e))?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    while codes.len() < RECOVERY_CODES {
        let code = generate_one()?;
        if codes.contains(&code) {
            continue;
        }
        let normalized = normalize(&code).ok_or(Fault::Internal)?;
        sqlx::query(
            "INSERT INTO recovery_codes (account_id, code_hash, created_at) VALUES ($1, $2, $3)",
        )
        .bind(account.to_string())
        .bind(hash(account, &normalized))
        .bind(now.millis())
        .execute(&mut **tx)
        .await
        .map_err(|e| Fault::db("recovery codes", e))?;
        codes.push(code);
    }
    Ok(RecoveryCodes(codes))
}

/// Uses `code` once: true when it was one of the account's unused codes.
pub async fn consume(
    db: &Db,
    account: AccountId,
    code: &str,
    now: Timestamp,
) -> Result<bool, Fault> {
    let Some(normalized) = normalize(code) else {
        return Ok(false);
    };
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 \
         WHERE account_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(now.millis())
    .bind(account.to_string())
    .bind(hash(account, &normalized))
    .execute(db)
    .await
    .map_err(|e| Fault::db("recovery code", e))?;
    Ok(done.rows_affected() == 1)
}

/// Unused codes of the account.
pub async fn left(db: &Db, account: AccountId) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL",
    )
    .bind(account.to_string())
    .fetch_one(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_well_formed_and_normalize() {
        for _ in 0..50 {
            let c = generate_one().unwrap();
            assert_eq!(c.len(), 11);
            assert_eq!(&c[5..6], "-");
            assert_eq!(normalize(&c).unwrap(), c.replace('-', ""));
            assert_eq!(normalize(&c.to_uppercase()).unwrap(), c.replace('-', ""));
        }
        assert_eq!(normalize("123456"), None);
        assert_eq!(normalize("abcde-fghi1"), None); // 1 and i are not in the alphabet
    }
}
