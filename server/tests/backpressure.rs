//! The audit queue when its writer cannot write (issue 11): every API
//! request takes room for its `token_used` entry before it runs, so the
//! queue fills to its bound and stops there; the next request waits for
//! room and is then answered 503 with nothing done; once the database takes
//! writes again the writer, which kept retrying its batch, writes every
//! entry: none lost, none twice.

mod common;

use common::{api, owner, token_with, TestApp};
use sqlx::Connection;

const CAPACITY: usize = 40;

#[tokio::test]
async fn a_stuck_writer_fills_the_queue_then_requests_get_503_and_nothing_is_lost() {
    let app = TestApp::with_config(|c| c.audit_queue_capacity = CAPACITY).await;
    let o = owner(&app, "owner@example.com", true).await;
    let token = token_with(&app, &o, "agent", &["scope_tasks_read"], "30").await;
    // The token's last use is written now; the calls below, within the
    // minute, only read the token row.
    let whoami = || api(&app, "GET", "/api/auth/whoami", Some(&token), None);
    assert_eq!(whoami().await.status, 200);
    app.flush_audit().await;
    let before = app
        .count("SELECT COUNT(*) FROM audit_events WHERE action = 'token_used'")
        .await;

    // Another client holds the audit head, so every append waits (and, past
    // the database's lock or busy timeout, fails and is retried).
    let mut other = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut other).await.unwrap();
    let lock = if common::backend() == "postgres" {
        "LOCK TABLE audit_head IN EXCLUSIVE MODE"
    } else {
        "UPDATE audit_head SET last_seq = last_seq WHERE id = 1"
    };
    sqlx::query(lock).execute(&mut other).await.unwrap();

    // The queue holds CAPACITY entries and the writer's stuck batch at most
    // 500 (one batch); then a request finds no room.
    let mut answered = 0;
    let refused = loop {
        let res = whoami().await;
        if res.status != 200 {
            break res;
        }
        answered += 1;
        assert!(answered <= CAPACITY + 500, "the queue never filled");
    };
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], "SERVICE_UNAVAILABLE");
    assert!(
        answered >= CAPACITY,
        "only {answered} answered before the 503"
    );
    assert!(app.state.audit.depth() <= CAPACITY);

    // The database is back: everything answered is written, once.
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    other.close().await.ok();
    app.flush_audit().await;
    let after = app
        .count("SELECT COUNT(*) FROM audit_events WHERE action = 'token_used'")
        .await;
    assert_eq!(
        after - before,
        answered as i64,
        "one entry per answered request"
    );
    assert_eq!(whoami().await.status, 200, "works again");
    app.flush_audit().await;
    let verdict = app::audit::chain::verify(&app.state.db, &app.state.config.keys, 1)
        .await
        .unwrap();
    assert!(
        matches!(verdict, app::audit::chain::Verdict::Intact { .. }),
        "{verdict:?}"
    );
}
