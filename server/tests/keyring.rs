//! The keyring (issue 13): a keyed audit chain that someone who can write
//! only the database cannot rewrite, the move of an existing chain to the
//! keyed form, and keys that rotate without signing anyone out.

mod common;

use app::{
    audit::{chain, NewEvent},
    keys::Keyring,
    types::Timestamp,
};
use common::{TestApp, PASSWORD};
use sqlx::Row;

/// Writes `n` events through the chain with `keys`.
async fn append(app: &TestApp, keys: &Keyring, n: usize) {
    let batch: Vec<NewEvent> = (0..n)
        .map(|i| {
            NewEvent::new(
                app::audit::AuditAction::PolicyChanged,
                app::audit::ActorKind::System,
                app::audit::Outcome::Success,
            )
            .detail("i", i)
        })
        .collect();
    chain::append_now(&app.state.db, keys, &batch, Timestamp::now())
        .await
        .unwrap();
}

/// What a database-only attacker can do: recompute every link from
/// `from_seq` to the head as plain SHA-256 over the documented canonical
/// form (the pre-keyring format), marking the entries unkeyed, and move the
/// head to match. Returns the new head hash.
async fn relink_unkeyed(app: &TestApp, from_seq: i64, to_seq: Option<i64>) -> String {
    #[derive(serde::Serialize)]
    struct Canonical {
        seq: i64,
        id: String,
        at: i64,
        account_id: Option<String>,
        actor_kind: String,
        actor: Option<String>,
        action: String,
        target: Option<String>,
        outcome: String,
        ip: Option<String>,
        user_agent: Option<String>,
        request_id: Option<String>,
        token_prefix: Option<String>,
        details: String,
        security: i64,
    }
    let db = &app.state.db;
    let mut prev: String = if from_seq <= 1 {
        "0".repeat(64)
    } else {
        sqlx::query("SELECT hash FROM audit_events WHERE seq = $1")
            .bind(from_seq - 1)
            .fetch_one(db)
            .await
            .unwrap()
            .get("hash")
    };
    let rows = sqlx::query(
        "SELECT seq, id, at, account_id, actor_kind, actor, action, target, outcome, ip, user_agent, \
         request_id, token_prefix, details, security FROM audit_events WHERE seq >= $1 AND seq <= $2 ORDER BY seq",
    )
    .bind(from_seq)
    .bind(to_seq.unwrap_or(i64::MAX))
    .fetch_all(db)
    .await
    .unwrap();
    for r in rows {
        let c = Canonical {
            seq: r.get("seq"),
            id: r.get("id"),
            at: r.get("at"),
            account_id: r.get("account_id"),
            actor_kind: r.get("actor_kind"),
            actor: r.get("actor"),
            action: r.get("action"),
            target: r.get("target"),
            outcome: r.get("outcome"),
            ip: r.get("ip"),
            user_agent: r.get("user_agent"),
            request_id: r.get("request_id"),
            token_prefix: r.get("token_prefix"),
            details: r.get::<Option<String>, _>("details").unwrap_or_default(),
            security: r.get("security"),
        };
        let mut material = prev.as_bytes().to_vec();
        material.push(b'\n');
        material.extend(serde_json::to_vec(&c).unwrap());
        let hash = app::crypto::sha256_hex(&material);
        sqlx::query(
            "UPDATE audit_events SET prev_hash = $1, hash = $2, key_id = NULL WHERE seq = $3",
        )
        .bind(&prev)
        .bind(&hash)
        .bind(c.seq)
        .execute(db)
        .await
        .unwrap();
        prev = hash;
    }
    if to_seq.is_none() {
        // The pre-keyring form had no sealed head either.
        sqlx::query(
            "UPDATE audit_head SET last_hash = $1, sealed_seq = NULL, sealed_hash = NULL, \
             head_mac = NULL, head_key_id = NULL WHERE id = 1",
        )
        .bind(&prev)
        .execute(db)
        .await
        .unwrap();
    }
    prev
}

#[tokio::test]
async fn entries_are_keyed_and_a_database_only_rewrite_is_detected() {
    let app = TestApp::new().await;
    let keys = app.state.config.keys.clone();
    app.setup_admin("admin@example.com").await;
    append(&app, &keys, 5).await;
    app.flush_audit().await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE key_id IS NULL")
            .await,
        0
    );
    assert!(matches!(
        chain::verify(&app.state.db, &keys, 1).await.unwrap(),
        chain::Verdict::Intact { .. }
    ));

    // Edit an entry and relink the whole chain in the old unkeyed form:
    // every link is consistent, yet the keyring says the chain is keyed
    // from entry 1, so the first entry is refused.
    sqlx::query("UPDATE audit_events SET target = 'innocent' WHERE seq = 3")
        .execute(&app.state.db)
        .await
        .unwrap();
    relink_unkeyed(&app, 1, None).await;
    assert_eq!(
        chain::verify(&app.state.db, &keys, 1).await.unwrap(),
        chain::Verdict::Unkeyed { seq: 1 }
    );

    // The CLI reads the same keyring file from the data directory.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_preqstation"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", &app.database_url)
        .env("PREQSTATION_DATA_DIR", app.dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("seq 1 is not keyed"), "{stderr}");
}

#[tokio::test]
async fn a_keyed_entry_cannot_be_recomputed_without_the_key() {
    let app = TestApp::new().await;
    let keys = app.state.config.keys.clone();
    append(&app, &keys, 4).await;
    // Rewrite entry 2 and re-key it with a key of the same id but other
    // bytes (all a database-only attacker can do): refused.
    let forged = Keyring::single("k1", vec![42; 32]).unwrap();
    sqlx::query("DELETE FROM audit_events WHERE seq >= 2")
        .execute(&app.state.db)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_head SET last_seq = 1, last_hash = (SELECT hash FROM audit_events WHERE seq = 1) WHERE id = 1")
        .execute(&app.state.db)
        .await
        .unwrap();
    append(&app, &forged, 3).await;
    assert_eq!(
        chain::verify(&app.state.db, &keys, 1).await.unwrap(),
        chain::Verdict::Altered { seq: 2 }
    );
}

#[tokio::test]
async fn an_unkeyed_chain_moves_to_the_keyed_form_and_stays_covered() {
    let app = TestApp::new().await;
    append(&app, &app.state.config.keys, 6).await;
    // Pretend these six were written before keyrings existed.
    let legacy_head = relink_unkeyed(&app, 1, None).await;

    // The first start with a keyring: no `audit-keyed-from` yet, so it is
    // pinned at the next entry and written to the keyring file.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("session.key"), base64_encode(&[5u8; 32])).unwrap();
    let mut ring = app::keys::load(&|_| None, dir.path())
        .map_err(|p| p.message)
        .unwrap();
    assert_eq!(ring.ids(), ["k0"], "the old session key is kept as k0");
    let start = chain::keyed_start(&app.state.db, &mut ring, true)
        .await
        .unwrap();
    assert_eq!(start, chain::KeyedStart::PinnedNow(7));
    // That start also seals the head it finds (an install from before).
    app::audit::head::reseal(&app.state.db, &ring)
        .await
        .unwrap();
    let file = std::fs::read_to_string(dir.path().join(app::keys::FILE_NAME)).unwrap();
    assert!(file.contains("audit-keyed-from 7"), "{file}");
    let again = app::keys::load(&|_| None, dir.path())
        .map_err(|p| p.message)
        .unwrap();
    assert_eq!(again.audit_keyed_from(), Some(7));

    append(&app, &ring, 3).await;
    let first_keyed_prev: String = sqlx::query("SELECT prev_hash FROM audit_events WHERE seq = 7")
        .fetch_one(&app.state.db)
        .await
        .unwrap()
        .get("prev_hash");
    assert_eq!(
        first_keyed_prev, legacy_head,
        "the keyed part links to the old head"
    );
    assert_eq!(
        chain::verify(&app.state.db, &ring, 7).await.unwrap(),
        chain::Verdict::Intact {
            entries: 9,
            first_seq: 1,
            last_seq: 9
        }
    );

    // Rewriting an old entry and relinking the old part breaks the first
    // keyed entry's link, which cannot be recomputed without the key.
    sqlx::query("UPDATE audit_events SET target = 'innocent' WHERE seq = 2")
        .execute(&app.state.db)
        .await
        .unwrap();
    relink_unkeyed(&app, 1, Some(6)).await;
    assert_eq!(
        chain::verify(&app.state.db, &ring, 7).await.unwrap(),
        chain::Verdict::Removed {
            after_seq: 6,
            next_seq: 7
        }
    );
    // And relinking everything unkeyed is refused at entry 7.
    relink_unkeyed(&app, 1, None).await;
    assert_eq!(
        chain::verify(&app.state.db, &ring, 7).await.unwrap(),
        chain::Verdict::Unkeyed { seq: 7 }
    );
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn rotating_keys_keeps_the_chain_and_sessions_and_a_retired_key_is_reported() {
    let app = TestApp::new().await;
    let old = app.state.config.keys.clone();
    let cookie = app.setup_admin("admin@example.com").await;
    append(&app, &old, 2).await;

    // The next start with a new key: old entries and old cookies verify,
    // new ones use k2.
    let rotated = old.with_new_key("k2").unwrap();
    let after = TestApp::open(
        app.database_url.clone(),
        tempfile::tempdir().unwrap(),
        |c| c.keys = rotated.clone(),
    )
    .await;
    assert_eq!(
        after.get("/", Some(&cookie)).await.status,
        200,
        "signed in still"
    );
    let fresh = after
        .login("admin@example.com", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    assert!(fresh.contains("=k2."), "{fresh}");
    assert_eq!(after.get("/", Some(&fresh)).await.status, 200);
    append(&after, &rotated, 2).await;
    after.flush_audit().await;
    app.flush_audit().await;
    assert!(
        after
            .count("SELECT COUNT(*) FROM audit_events WHERE key_id = 'k2'")
            .await
            >= 2
    );
    assert!(matches!(
        chain::verify(&app.state.db, &rotated, 1).await.unwrap(),
        chain::Verdict::Intact { .. }
    ));
    // A keyring without k1 cannot vouch for k1's entries.
    let without_k1 = Keyring::single("k2", vec![1; 32]).unwrap();
    assert!(matches!(
        chain::verify(&app.state.db, &without_k1, 1).await.unwrap(),
        chain::Verdict::UnknownKey { seq: 1, ref key_id } if key_id == "k1"
    ));
}
