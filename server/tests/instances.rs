//! Two server processes on one database (issue 11): what one instance does,
//! the other sees on its very next request. A token revoked through A is
//! refused by B at once (1,000 times, no sleep: there is no token cache to
//! go stale); a session signed out on A is refused on B; a token created on
//! A works on B; and under load both append to one unforked audit chain
//! that verifies afterwards. Runs on PostgreSQL and on SQLite (both
//! processes on one file).

mod common;

use common::{
    binary::{start, stop},
    TestApp, ORIGIN,
};

fn get(path: &str, cookie: Option<&str>) -> String {
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{cookie}Connection: close\r\n\r\n")
}

fn whoami(token: &str) -> String {
    format!(
        "GET /api/auth/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
}

fn rpc(endpoint: &str, cookie: &str, body: &str) -> String {
    format!(
        "POST /rpc/{endpoint} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {ORIGIN}\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn json_of(response: &str) -> serde_json::Value {
    let start = response.find('{').unwrap_or(0);
    let end = response.rfind('}').map_or(response.len(), |e| e + 1);
    serde_json::from_str(&response[start..end]).unwrap_or(serde_json::Value::Null)
}

/// Creates a token through `port`; returns (token, id).
fn create_token(port: u16, cookie: &str, name: &str) -> (String, String) {
    let (status, res) = common::raw_request(
        port,
        &rpc(
            "tokens/create",
            cookie,
            &format!("name={name}&expiry=30&scope_tasks_read=on"),
        ),
    )
    .unwrap();
    assert_eq!(status, 200, "{res}");
    let v = json_of(&res);
    (
        v["token"].as_str().unwrap().to_string(),
        v["view"]["id"].as_str().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_instance_does_the_other_sees_on_its_next_request() {
    let app = TestApp::new().await;
    let o = common::owner(&app, "owner@example.com", true).await;
    let a = start(&app);
    let b = start(&app);
    let (pa, pb) = (a.port, b.port);
    let cookie = o.cookie.clone();

    // A token created on A works on B.
    let (token, _) = create_token(pa, &cookie, "shared");
    assert_eq!(common::raw_status(pb, &whoami(&token)), Some(200));

    // Load on both instances while the revocation loop runs: every request
    // appends to the one audit chain.
    let load = std::thread::spawn(move || {
        let mut ok = 0;
        for i in 0..600 {
            let port = if i % 2 == 0 { pa } else { pb };
            if common::raw_status(port, &whoami(&token)) == Some(200) {
                ok += 1;
            }
        }
        ok
    });

    // Revoked through A, refused by B on the very next request: 1,000 times.
    let c = cookie.clone();
    let revocations = std::thread::spawn(move || {
        let mut successes = 0;
        for i in 0..1000 {
            let (t, id) = create_token(pa, &c, &format!("t{i}"));
            let (status, res) =
                common::raw_request(pa, &rpc("tokens/revoke", &c, &format!("id={id}"))).unwrap();
            assert_eq!(status, 200, "{res}");
            if common::raw_status(pb, &whoami(&t)) != Some(401) {
                successes += 1;
            }
        }
        successes
    });
    assert_eq!(
        revocations.join().unwrap(),
        0,
        "a revoked token worked on the other instance"
    );
    assert_eq!(load.join().unwrap(), 600);

    // A session signed out on A is refused on B at once.
    let (status, _) = common::raw_request(pb, &get("/settings/sessions", Some(&cookie))).unwrap();
    assert_eq!(status, 200);
    let (status, _) = common::raw_request(pa, &rpc("logout", &cookie, "")).unwrap();
    assert!(status < 400, "sign out: {status}");
    let (status, res) = common::raw_request(pb, &get("/settings/sessions", Some(&cookie))).unwrap();
    assert_eq!(status, 303, "{res}");

    // Both stop cleanly (flushing their queues); the chain is one and intact.
    stop(a);
    stop(b);
    let verdict = app::audit::chain::verify(&app.state.db, &app.state.config.keys, 1)
        .await
        .unwrap();
    assert!(
        matches!(verdict, app::audit::chain::Verdict::Intact { entries, .. } if entries > 3000),
        "{verdict:?}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'token_revoked'")
            .await,
        1000
    );
}
