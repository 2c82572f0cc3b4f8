//! Rotation families: revoking a token revokes the tokens rotated from it,
//! a family never has more than two working tokens (and they count once
//! against the cap), and a retired predecessor is a security event, which
//! revokes the family when it tries to rotate.

mod common;

use common::{api, owner, token_with, Owner, TestApp};
use serde_json::json;

const SCOPES: [&str; 2] = ["scope_tasks_read", "scope_tokens_rotate_self"];

async fn whoami(app: &TestApp, token: &str) -> u16 {
    api(app, "GET", "/api/auth/whoami", Some(token), None)
        .await
        .status
        .as_u16()
}

/// Rotates through the API with a 7-day grace; returns the successor.
async fn rotate(app: &TestApp, token: &str) -> String {
    let res = api(
        app,
        "POST",
        "/api/tokens/self/rotate",
        Some(token),
        Some(json!({"grace": "7d"})),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.body);
    res.json()["token"].as_str().unwrap().to_string()
}

async fn id_of(app: &TestApp, token: &str) -> String {
    sqlx::query_scalar(&format!(
        "SELECT id FROM api_tokens WHERE prefix = '{}'",
        &token[..12]
    ))
    .fetch_one(&app.state.db)
    .await
    .unwrap()
}

async fn events(app: &TestApp, action: &str) -> i64 {
    app.flush_audit().await;
    app.count(&format!(
        "SELECT COUNT(*) FROM audit_events WHERE action = '{action}'"
    ))
    .await
}

async fn setup() -> (TestApp, Owner, String) {
    let app = TestApp::new().await;
    let o = owner(&app, "owner@example.com", true).await;
    let a = token_with(&app, &o, "agent", &SCOPES, "30").await;
    (app, o, a)
}

#[tokio::test]
async fn revoking_a_token_revokes_what_was_rotated_from_it() {
    let (app, o, a) = setup().await;
    let b = rotate(&app, &a).await;
    assert_eq!(whoami(&app, &a).await, 200, "A is in its grace");
    let a_id = id_of(&app, &a).await;
    let preview = app
        .call("tokens/revoke-preview", &[("id", &a_id)], Some(&o.cookie))
        .await;
    assert_eq!(
        preview.json(),
        json!(1),
        "the dialog says one more token goes"
    );
    let res = app
        .call("tokens/revoke", &[("id", &a_id)], Some(&o.cookie))
        .await;
    assert!(res.status.is_success(), "{}", res.body);
    assert_eq!(whoami(&app, &a).await, 401);
    assert_eq!(
        whoami(&app, &b).await,
        401,
        "the successor minted from A died with it"
    );
}

#[tokio::test]
async fn a_family_has_at_most_two_working_tokens_counted_once() {
    let (app, o, a) = setup().await;
    let b = rotate(&app, &a).await;
    let c = rotate(&app, &b).await;
    let d = rotate(&app, &c).await;
    assert_eq!(whoami(&app, &a).await, 401, "rotating B ended A's grace");
    assert_eq!(whoami(&app, &b).await, 401, "rotating C ended B's grace");
    assert_eq!(whoami(&app, &c).await, 200, "C is in its grace");
    // (A use of D would end C's grace: not yet.)
    assert_eq!(
        app.count("SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL")
            .await,
        2
    );
    // C and D take one slot of five: four more tokens fit.
    for i in 0..4 {
        token_with(&app, &o, &format!("more-{i}"), &SCOPES, "30").await;
    }
    let sixth = app
        .call(
            "tokens/create",
            &[
                ("name", "one-too-many"),
                ("expiry", "30"),
                ("scope_tasks_read", "on"),
            ],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(sixth.status, 409, "{}", sixth.body);
    assert_eq!(whoami(&app, &d).await, 200);
}

#[tokio::test]
async fn a_retired_token_is_a_reuse_and_rotating_with_it_revokes_the_family() {
    let (app, _o, a) = setup().await;
    let b = rotate(&app, &a).await;
    assert_eq!(whoami(&app, &b).await, 200, "B's first use ends A's grace");
    assert_eq!(whoami(&app, &a).await, 401);
    assert_eq!(events(&app, "token_reuse_detected").await, 1);
    assert_eq!(
        whoami(&app, &b).await,
        200,
        "a plain reuse does not revoke the family"
    );

    let res = api(
        &app,
        "POST",
        "/api/tokens/self/rotate",
        Some(&a),
        Some(json!({"grace": "7d"})),
    )
    .await;
    assert_eq!(res.status, 401);
    assert_eq!(
        whoami(&app, &b).await,
        401,
        "the retired token tried to rotate: family revoked"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM api_tokens WHERE revoked_reason = 'reuse_detected'")
            .await,
        1
    );
    assert_eq!(events(&app, "token_reuse_detected").await, 2);
}

#[tokio::test]
async fn an_admin_policy_can_make_any_reuse_revoke_the_family() {
    let (app, o, a) = setup().await;
    // The owner is the first account: an admin.
    let res = app
        .call(
            "tokens/policy/update",
            &[
                ("default_expiry", "90"),
                ("max_lifetime", "none"),
                ("max_active_tokens", "5"),
                ("revoke_family_on_reuse", "on"),
            ],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["revoke_family_on_reuse"], true);
    let b = rotate(&app, &a).await;
    assert_eq!(whoami(&app, &b).await, 200, "B's first use ends A's grace");
    // A plain use of A (not a rotation) now revokes the family.
    assert_eq!(whoami(&app, &a).await, 401);
    assert_eq!(whoami(&app, &b).await, 401, "family revoked by policy");
    assert_eq!(events(&app, "token_reuse_detected").await, 1);
    assert!(
        app.count("SELECT COUNT(*) FROM policy_changes WHERE after_value LIKE '%revoke_family_on_reuse=yes%'")
            .await
            == 1
    );
    // A value that is not a checkbox's is refused by the field.
    let bad = app
        .call(
            "tokens/policy/update",
            &[
                ("default_expiry", "90"),
                ("max_lifetime", "none"),
                ("max_active_tokens", "5"),
                ("revoke_family_on_reuse", "maybe"),
            ],
            Some(&o.cookie),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("revoke_family_on_reuse"), "{}", bad.body);
}
