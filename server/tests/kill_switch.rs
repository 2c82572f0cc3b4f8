//! The owner's kill switch through the real router: the preview names the
//! counts, a missing confirmation changes nothing, and the switch revokes
//! every working API key at once, audited as one event with the counts.

mod common;

use common::{api, owner, token_with, TestApp};

#[tokio::test]
async fn the_kill_switch_revokes_every_working_token_at_once() {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let other = owner(&app, "other@example.com", false).await;
    let mine: Vec<String> = vec![
        token_with(&app, &o, "one", &["scope_tasks_read"], "30").await,
        token_with(&app, &o, "two", &["scope_tasks_read"], "30").await,
    ];
    let theirs = token_with(&app, &other, "theirs", &["scope_tasks_read"], "30").await;

    let res = app
        .call("tokens/revoke-all-preview", &[], Some(&o.cookie))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json(), serde_json::json!({"tokens": 2, "apps": 0}));

    let res = app
        .call("tokens/revoke-all", &[("confirm", "yes")], Some(&o.cookie))
        .await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert_eq!(res.json()["Field"]["field"], "confirm");
    for t in &mine {
        let res = api(&app, "GET", "/api/auth/whoami", Some(t), None).await;
        assert_eq!(res.status, 200, "nothing changed without the confirmation");
    }

    let res = app
        .call(
            "tokens/revoke-all",
            &[("confirm", "revoke")],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json(), serde_json::json!({"tokens": 2, "apps": 0}));
    for t in &mine {
        let res = api(&app, "GET", "/api/auth/whoami", Some(t), None).await;
        assert_eq!(res.status, 401, "{}", res.body);
    }
    let res = api(&app, "GET", "/api/auth/whoami", Some(&theirs), None).await;
    assert_eq!(res.status, 200, "another account's token is untouched");
    // The owner is still signed in.
    let res = app
        .call("tokens/revoke-all-preview", &[], Some(&o.cookie))
        .await;
    assert_eq!(res.json(), serde_json::json!({"tokens": 0, "apps": 0}));

    app.flush_audit().await;
    let (n, details): (i64, String) = sqlx::query_as(
        "SELECT COUNT(*), MAX(details) FROM audit_events WHERE action = 'credentials_revoked' AND security = 1",
    )
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert_eq!(n, 1);
    assert!(details.contains("\"tokens_revoked\":2"), "{details}");
    let revoked: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'token_revoked' AND details LIKE '%revoked_all_by_owner%'",
    )
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert_eq!(revoked, 2);
}
