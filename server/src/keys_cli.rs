//! `preqstation keys …`: list, rotate, promote and retire the server's keys
//! (docs/security.md, "Keys"). A running server reads the keyring at start,
//! so a change takes effect on each instance's next start.

use app::{config::Config, keys};
use sqlx::Row;

pub async fn run(args: &[String]) -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let ring = &config.keys;
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["list"] | [] => list(&config).await,
        ["rotate"] => rotated(keys::rotate_file(ring, false), false),
        ["rotate", "--staged"] => rotated(keys::rotate_file(ring, true), true),
        ["promote", id] => {
            keys::promote_file(ring, id).map_err(|e| e.to_string())?;
            println!("{id} now signs; restart every instance to use it.");
            Ok(())
        }
        ["retire", id] => retire(&config, id, false).await,
        ["retire", id, "--force"] => retire(&config, id, true).await,
        _ => Err(
            "usage: preqstation keys [list | rotate [--staged] | promote ID | retire ID [--force]]"
                .into(),
        ),
    }
}

fn rotated(result: Result<String, keys::KeyringError>, staged: bool) -> Result<(), String> {
    let id = result.map_err(|e| e.to_string())?;
    if staged {
        println!(
            "Added {id}, staged: it verifies but does not sign. Copy the keyring to every instance, \
             restart them, then run `preqstation keys promote {id}` and restart again."
        );
    } else {
        println!(
            "Added {id}: it signs and encrypts from the next start. Older keys still verify; \
             retire them with `preqstation keys retire ID` once their data has expired."
        );
    }
    Ok(())
}

/// How many kept things each key still protects.
struct Uses {
    audit_entries: i64,
    /// 1 when the chain's head or anchor MAC is made with the key.
    audit_head: i64,
    sealed_replays: i64,
}

async fn uses(config: &Config, id: &str) -> Result<Uses, String> {
    let pool = app::db::connect(&config.database_url)
        .await
        .map_err(|e| e.to_string())?;
    app::db::migrate(&pool).await.map_err(|e| e.to_string())?;
    let now = app::types::Timestamp::now().millis();
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM audit_events WHERE key_id = $1) AS audit, \
         (SELECT COUNT(*) FROM audit_head WHERE head_key_id = $1 OR anchor_key_id = $1) AS head, \
         (SELECT COUNT(*) FROM idempotency_keys WHERE body LIKE $2 AND expires_at > $3) AS sealed",
    )
    .bind(id)
    .bind(format!("sealed:{id}.%"))
    .bind(now)
    .fetch_one(&pool)
    .await
    .map_err(|e| format!("cannot read the database: {e}"))?;
    pool.close().await;
    Ok(Uses {
        audit_entries: row.try_get("audit").map_err(|e| e.to_string())?,
        audit_head: row.try_get("head").map_err(|e| e.to_string())?,
        sealed_replays: row.try_get("sealed").map_err(|e| e.to_string())?,
    })
}

async fn list(config: &Config) -> Result<(), String> {
    let ring = &config.keys;
    let current = ring.current().id().to_string();
    println!(
        "Keys ({}), oldest first:",
        ring.path()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "PREQSTATION_KEYS".into())
    );
    for k in ring.keys() {
        let u = uses(config, k.id()).await?;
        let role = if k.id() == current {
            "signs"
        } else if k.staged() {
            "staged (verifies only)"
        } else {
            "verifies"
        };
        println!(
            "  {:<6} created {:<10}  {:<22}  audit entries: {}, sealed replays: {}{}",
            k.id(),
            k.created(),
            role,
            u.audit_entries,
            u.sealed_replays,
            if u.audit_head > 0 {
                ", the audit chain's head"
            } else {
                ""
            }
        );
    }
    match ring.audit_keyed_from() {
        Some(seq) => println!("The audit chain is keyed from entry {seq} on."),
        None => println!(
            "Where the keyed audit chain starts is not pinned yet (the next start pins it)."
        ),
    }
    Ok(())
}

async fn retire(config: &Config, id: &str, force: bool) -> Result<(), String> {
    if config.keys.get(id).is_none() {
        return Err(format!("no key {id:?} in the keyring"));
    }
    let u = uses(config, id).await?;
    if (u.audit_entries > 0 || u.audit_head > 0 || u.sealed_replays > 0) && !force {
        return Err(format!(
            "{id} still protects {} audit entries{} and {} sealed replays. Audit entries leave with retention (PREQSTATION_AUDIT_RETENTION_DAYS), the \
             head and anchor are re-authenticated with the current key at the next start, replays end \
             within 10 minutes; retire it after that, or pass --force (then `audit verify` reports \
             those entries as unverifiable).",
            u.audit_entries,
            if u.audit_head > 0 {
                " and the audit chain's head"
            } else {
                ""
            },
            u.sealed_replays
        ));
    }
    keys::retire_file(&config.keys, id).map_err(|e| e.to_string())?;
    println!(
        "Retired {id}. Sessions and known-device cookies it signed stop working at each \
         instance's next start."
    );
    Ok(())
}
