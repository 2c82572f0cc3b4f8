//! The audit chain's head and retention anchor are authenticated: with
//! write access to the database but not the keyring, deleting the oldest
//! entries and moving the anchor, or deleting the newest and rewinding the
//! head, no longer passes `audit verify`; an anchor that cut more than the
//! retention allows is reported; rotating keys keeps both verifiable.

mod common;

use app::{
    audit::{
        chain::{self, Verdict},
        ActorKind, AuditAction, NewEvent, Outcome,
    },
    keys::Keyring,
    types::Timestamp,
};
use common::TestApp;

async fn append_at(app: &TestApp, keys: &Keyring, n: usize, at: Timestamp) {
    let batch: Vec<NewEvent> = (0..n)
        .map(|i| {
            let mut e = NewEvent::new(
                AuditAction::PolicyChanged,
                ActorKind::System,
                Outcome::Success,
            )
            .detail("i", i);
            e.at = Some(at);
            e
        })
        .collect();
    chain::append_now(&app.state.db, keys, &batch, Timestamp::now())
        .await
        .unwrap();
}

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql).execute(&app.state.db).await.unwrap();
}

async fn verdict(app: &TestApp) -> Verdict {
    chain::verify(&app.state.db, &app.state.config.keys, 1)
        .await
        .unwrap()
}

#[tokio::test]
async fn deleting_the_oldest_entries_and_moving_the_anchor_is_detected() {
    let app = TestApp::new().await;
    let keys = app.state.config.keys.clone();
    append_at(&app, &keys, 8, Timestamp::now()).await;
    assert!(matches!(verdict(&app).await, Verdict::Intact { .. }));
    // Minutes-old entries removed, the anchor moved to match: every link
    // from the anchor on is consistent.
    exec(&app, "DELETE FROM audit_events WHERE seq <= 3").await;
    exec(
        &app,
        "UPDATE audit_head SET anchor_seq = 3, anchor_hash = \
         (SELECT prev_hash FROM audit_events WHERE seq = 4) WHERE id = 1",
    )
    .await;
    assert!(
        matches!(verdict(&app).await, Verdict::AnchorForged { .. }),
        "{:?}",
        verdict(&app).await
    );
    // A MAC copied from elsewhere does not help either.
    exec(
        &app,
        "UPDATE audit_head SET anchor_mac = head_mac, anchor_key_id = head_key_id WHERE id = 1",
    )
    .await;
    assert!(matches!(verdict(&app).await, Verdict::AnchorForged { .. }));
}

#[tokio::test]
async fn deleting_the_newest_entries_and_rewinding_the_head_is_detected() {
    let app = TestApp::new().await;
    let keys = app.state.config.keys.clone();
    append_at(&app, &keys, 8, Timestamp::now()).await;
    exec(&app, "DELETE FROM audit_events WHERE seq >= 6").await;
    exec(
        &app,
        "UPDATE audit_head SET last_seq = 5, last_hash = \
         (SELECT hash FROM audit_events WHERE seq = 5) WHERE id = 1",
    )
    .await;
    assert!(
        matches!(verdict(&app).await, Verdict::HeadForged { .. }),
        "{:?}",
        verdict(&app).await
    );
    // The server goes on appending (the deleted seqs are reused): the seal
    // is not moved from a head the chain no longer reaches, so the rewind
    // stays visible.
    append_at(&app, &keys, 2, Timestamp::now()).await;
    assert!(matches!(verdict(&app).await, Verdict::HeadForged { .. }));
    append_at(&app, &keys, 4, Timestamp::now()).await;
    assert!(
        matches!(verdict(&app).await, Verdict::HeadForged { .. }),
        "past the sealed seq too: {:?}",
        verdict(&app).await
    );
    // Clearing the MAC is no way out.
    exec(
        &app,
        "UPDATE audit_head SET head_mac = NULL, head_key_id = NULL WHERE id = 1",
    )
    .await;
    assert!(matches!(verdict(&app).await, Verdict::HeadForged { .. }));

    // The CLI says so and fails.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_preqstation"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", &app.database_url)
        .env("PREQSTATION_DATA_DIR", app.dir.path())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("head ALTERED"), "{stderr}");
}

#[tokio::test]
async fn a_purge_moves_an_authentic_anchor_and_an_early_cut_is_reported() {
    let app = TestApp::new().await;
    let keys = app.state.config.keys.clone();
    let day = 86_400;
    let now = Timestamp::now();
    append_at(&app, &keys, 3, now.plus_secs(-400 * day)).await;
    append_at(&app, &keys, 3, now.plus_secs(-10 * day)).await;
    // The sweep's purge with 365 days of retention: authentic, in time.
    let purged = chain::purge_before(&app.state.db, &keys, now.plus_secs(-365 * day), now)
        .await
        .unwrap();
    assert_eq!(purged, 3);
    let checked = chain::verify_at(&app.state.db, &keys, 1, Some(365), now)
        .await
        .unwrap();
    assert!(
        matches!(checked, Verdict::Intact { entries: 3, .. }),
        "{checked:?}"
    );
    // A cut through entries 10 days old, with 365 days of retention
    // configured, is reported even though its MAC is genuine.
    chain::purge_before(&app.state.db, &keys, now.plus_secs(-day), now)
        .await
        .unwrap();
    let checked = chain::verify_at(&app.state.db, &keys, 1, Some(365), now)
        .await
        .unwrap();
    assert!(
        matches!(
            checked,
            Verdict::AnchorTooNew {
                retention_days: 365,
                ..
            }
        ),
        "{checked:?}"
    );
}

#[tokio::test]
async fn after_a_key_rotation_the_head_and_anchor_are_resealed_and_the_old_key_can_go() {
    let app = TestApp::new().await;
    let old = app.state.config.keys.clone();
    let now = Timestamp::now();
    append_at(&app, &old, 2, now.plus_secs(-400 * 86_400)).await;
    chain::purge_before(&app.state.db, &old, now.plus_secs(-365 * 86_400), now)
        .await
        .unwrap();
    append_at(&app, &old, 1, now).await;
    // `keys rotate`, then the next start: it reseals both under the new key.
    let load = || {
        app::keys::load(&|_| None, app.dir.path())
            .map_err(|p| p.message)
            .unwrap()
    };
    let new_id = app::keys::rotate_file(&old, false).unwrap();
    let rotated = load();
    assert_eq!(rotated.current().id(), new_id);
    app::audit::head::reseal(&app.state.db, &rotated)
        .await
        .unwrap();
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM audit_head WHERE head_key_id = '{new_id}' AND anchor_key_id = '{new_id}'"
        ))
        .await,
        1
    );
    // Once the old key's entries have gone with retention, it is retired,
    // and the head and the anchor still verify.
    chain::purge_before(&app.state.db, &rotated, now.plus_secs(60), now)
        .await
        .unwrap();
    append_at(&app, &rotated, 2, now).await;
    app::keys::retire_file(&rotated, old.current().id()).unwrap();
    let only_new = load();
    assert_eq!(only_new.ids(), [new_id.as_str()]);
    let checked = chain::verify(&app.state.db, &only_new, 1).await.unwrap();
    assert!(
        matches!(checked, Verdict::Intact { entries: 2, .. }),
        "{checked:?}"
    );
}
