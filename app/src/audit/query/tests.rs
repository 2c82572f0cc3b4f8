//! The page query against the single static statement it replaced, on a
//! fresh database (SQLite, or PostgreSQL with `TEST_DATABASE_URL`).

use super::*;

/// The text scripts/bench-audit.sh runs (keep the two in step).
const PINNED_SELECT: &str =
    "SELECT e.seq, e.at, a.email, e.actor_kind, e.actor, e.action, e.target, e.outcome, \
    e.ip, e.user_agent, e.request_id, e.token_prefix, e.details, e.security \
    FROM audit_events e LEFT JOIN accounts a ON a.id = e.account_id";

#[test]
fn the_sql_holds_only_the_filters_given() {
    assert_eq!(SELECT, PINNED_SELECT);
    let q = page_sql(&Criteria::default(), None, 50, false);
    assert_eq!(q.text, format!("{SELECT} ORDER BY e.seq DESC LIMIT 51"));
    assert!(q.args.is_empty());

    let q = page_sql(
        &Criteria {
            account: Some("acc".into()),
            action: Some("token_used".into()),
            ..Default::default()
        },
        Some(99),
        50,
        false,
    );
    assert_eq!(
        q.text,
        format!(
            "{SELECT} WHERE e.account_id = $1 AND e.action = $2 AND e.seq < $3 \
             ORDER BY e.seq DESC LIMIT 51"
        )
    );
    assert_eq!(
        q.args,
        [
            Arg::Text("acc".into()),
            Arg::Text("token_used".into()),
            Arg::Int(99)
        ]
    );

    let q = page_sql(
        &Criteria {
            token: Some("preq_ab".into()),
            from: Some(10),
            security_only: true,
            ..Default::default()
        },
        None,
        1,
        false,
    );
    assert_eq!(
        q.text,
        format!(
            "{SELECT} WHERE substr(e.token_prefix, 1, length($1)) = $1 AND e.at >= $2 \
             AND e.security = 1 ORDER BY e.seq DESC LIMIT 2"
        )
    );
    assert_eq!(q.args, [Arg::Text("preq_ab".into()), Arg::Int(10)]);

    // Read range first (`range_first` says when).
    let ranged = |account: Option<&str>, from: Option<i64>, range_first: bool| {
        page_sql(
            &Criteria {
                account: account.map(Into::into),
                from,
                to: Some(20),
                ..Default::default()
            },
            Some(7),
            50,
            range_first,
        )
    };
    assert_eq!(
        ranged(Some("acc"), None, true).text,
        format!(
            "{SELECT} WHERE e.seq IN (SELECT e.seq FROM audit_events e WHERE e.account_id = $1 \
             AND e.at < $2 AND e.seq < $3 ORDER BY e.seq + 0 DESC LIMIT 51) ORDER BY e.seq DESC"
        )
    );
    assert_eq!(
        ranged(None, Some(10), true).text,
        format!(
            "{SELECT} WHERE e.seq IN (SELECT e.seq FROM audit_events e WHERE e.at >= $1 \
             AND e.at < $2 AND e.seq < $3 ORDER BY e.seq + 0 DESC LIMIT 51) ORDER BY e.seq DESC"
        )
    );
    assert_eq!(
        ranged(None, None, false).text,
        format!("{SELECT} WHERE e.at < $1 AND e.seq < $2 ORDER BY e.seq DESC LIMIT 51")
    );
    let q = page_sql(
        &Criteria {
            token: Some("preq_abc1234".into()),
            ..Default::default()
        },
        None,
        50,
        false,
    );
    assert!(q.text.contains(" WHERE e.token_prefix = $1 ORDER BY"));
}

/// A fresh migrated database: SQLite in a temporary file, or a new
/// database on the PostgreSQL that `TEST_DATABASE_URL` names.
async fn fresh_db() -> (Db, impl FnOnce() -> futures::future::BoxFuture<'static, ()>) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let name = format!("preq_unit_{}", uuid::Uuid::new_v4().simple());
    let admin = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"));
    let (url, file) = match &admin {
        Some(admin) => {
            let mut conn = sqlx::AnyConnection::connect(admin).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .unwrap();
            conn.close().await.ok();
            let (base, _) = admin.rsplit_once('/').unwrap();
            (format!("{base}/{name}"), None)
        }
        None => {
            let path = std::env::temp_dir().join(format!("{name}.sqlite"));
            (format!("sqlite://{}?mode=rwc", path.display()), Some(path))
        }
    };
    let db = crate::db::connect(&url).await.unwrap();
    crate::db::migrate(&db).await.unwrap();
    let pool = db.clone();
    let cleanup = move || -> futures::future::BoxFuture<'static, ()> {
        Box::pin(async move {
            pool.close().await;
            if let Some(admin) = admin {
                let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                    .execute(&mut conn)
                    .await
                    .ok();
            }
            if let Some(path) = file {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    std::fs::remove_file(p).ok();
                }
            }
        })
    };
    (db, cleanup)
}

/// The seqs the single static statement this module used before gives
/// (first page of 50).
async fn old_page(db: &Db, scope: &Scope, filter: &AuditFilter) -> Vec<i64> {
    let c = Criteria::from_filter(scope, filter).unwrap();
    sqlx::query_scalar(
        "SELECT e.seq FROM audit_events e LEFT JOIN accounts a ON a.id = e.account_id \
         WHERE ($1 = '' OR e.account_id = $1) AND ($2 = '' OR e.action = $2) \
           AND ($3 = '' OR substr(e.token_prefix, 1, length($3)) = $3) \
           AND e.at >= $4 AND e.at < $5 AND e.seq < $6 AND ($8 = 0 OR e.security = 1) \
         ORDER BY e.seq DESC LIMIT $7",
    )
    .bind(c.account.unwrap_or_default())
    .bind(c.action.unwrap_or_default())
    .bind(c.token.unwrap_or_default())
    .bind(c.from.unwrap_or(0))
    .bind(c.to.unwrap_or(i64::MAX))
    .bind(i64::MAX)
    .bind(51_i64)
    .bind(i64::from(c.security_only))
    .fetch_all(db)
    .await
    .unwrap()
}

#[tokio::test]
async fn filters_and_pages_match_the_old_predicates() {
    let (db, cleanup) = fresh_db().await;
    let day = |d: &str| day_start(d, Input::From).unwrap();
    sqlx::query(
        "INSERT INTO accounts (id, email, password_hash, role, created_at, password_changed_at) \
         VALUES ('a1', 'one@example.com', 'x', 'member', 0, 0), ('a2', 'two@example.com', 'x', 'member', 0, 0)",
    )
    .execute(&db)
    .await
    .unwrap();
    // seq, account, action, token prefix, day, security
    type Seeded<'a> = (i64, Option<&'a str>, &'a str, Option<&'a str>, &'a str, i64);
    let rows: [Seeded; 8] = [
        (
            1,
            Some("a1"),
            "token_used",
            Some("preq_abc1234"),
            "2026-11-01",
            0,
        ),
        (
            2,
            Some("a1"),
            "token_used",
            Some("preq_abZ9999"),
            "2026-11-02",
            0,
        ),
        (
            3,
            Some("a1"),
            "auth_failed",
            Some("preq_a_c0000"),
            "2026-11-03",
            1,
        ),
        (
            4,
            Some("a2"),
            "token_used",
            Some("preq_abc1234"),
            "2026-11-03",
            0,
        ),
        (5, None, "auth_failed", None, "2026-11-04", 1),
        (6, Some("a1"), "login_succeeded", None, "2026-11-05", 0),
        (
            7,
            Some("a1"),
            "token_reuse_detected",
            Some("preq_abc1234"),
            "2026-11-05",
            1,
        ),
        (
            8,
            Some("a1"),
            "token_used",
            Some("preq_%bc1234"),
            "2026-11-06",
            0,
        ),
    ];
    for (seq, account, action, token, d, security) in rows {
        sqlx::query(
            "INSERT INTO audit_events (seq, id, at, account_id, actor_kind, action, outcome, \
             token_prefix, security, prev_hash, hash) VALUES ($1, $2, $3, $4, 'token', $5, 'success', $6, $7, 'p', 'h')",
        )
        .bind(seq)
        .bind(format!("ev{seq}"))
        .bind(day(d) + seq)
        .bind(account)
        .bind(action)
        .bind(token)
        .bind(security)
        .execute(&db)
        .await
        .unwrap();
    }
    let a1 = Scope {
        account: Some("a1".into()),
    };
    let all = Scope { account: None };
    let seqs = |scope: &Scope, filter: AuditFilter| {
        let db = db.clone();
        let scope = scope.clone();
        async move {
            let (entries, next) = page(&db, &scope, &filter, None, 50).await.unwrap();
            assert_eq!(next, None);
            let got = entries.iter().map(|e| e.seq).collect::<Vec<_>>();
            assert_eq!(got, old_page(&db, &scope, &filter).await, "{filter:?}");
            got
        }
    };
    let token = |t: &str| AuditFilter {
        token: Some(t.into()),
        ..Default::default()
    };
    assert_eq!(
        seqs(&all, AuditFilter::default()).await,
        [8, 7, 6, 5, 4, 3, 2, 1]
    );
    assert_eq!(seqs(&a1, AuditFilter::default()).await, [8, 7, 6, 3, 2, 1]);
    let action = AuditFilter {
        action: Some(" token_used ".into()),
        ..Default::default()
    };
    assert_eq!(seqs(&a1, action.clone()).await, [8, 2, 1]);
    assert_eq!(seqs(&all, action).await, [8, 4, 2, 1]);
    // The whole prefix (what the links give), a shorter one, and `_` and
    // `%` taken literally.
    assert_eq!(seqs(&a1, token("preq_abc1234")).await, [7, 1]);
    assert_eq!(seqs(&all, token(" preq_abc1234 ")).await, [7, 4, 1]);
    assert_eq!(seqs(&a1, token("preq_ab")).await, [7, 2, 1]);
    assert_eq!(seqs(&a1, token("preq_a_")).await, [3]);
    assert_eq!(seqs(&a1, token("preq_%")).await, [8]);
    assert_eq!(seqs(&a1, token("%")).await, Vec::<i64>::new());
    assert_eq!(seqs(&a1, token("preq_")).await, [8, 7, 3, 2, 1]);
    // Longer than a stored prefix (a whole token pasted): nothing.
    assert_eq!(
        seqs(
            &a1,
            token("preq_abc1234a7F3c9E2b1D4f6A8c0E2b4D6f8A0c2E40kZ3Qp")
        )
        .await,
        Vec::<i64>::new()
    );
    let range = |from: Option<&str>, to: Option<&str>| AuditFilter {
        from: from.map(Into::into),
        to: to.map(Into::into),
        ..Default::default()
    };
    assert_eq!(
        seqs(&all, range(Some("2026-11-03"), Some("2026-11-04"))).await,
        [5, 4, 3]
    );
    assert_eq!(seqs(&a1, range(Some("2026-11-05"), None)).await, [8, 7, 6]);
    assert_eq!(seqs(&a1, range(None, Some("2026-11-01"))).await, [1]);
    // Ends after the newest entry: walked by seq, not range first.
    let c = Criteria::from_filter(&a1, &range(Some("2026-11-05"), Some("2026-11-06"))).unwrap();
    assert!(!range_first(&db, &c, None).await.unwrap());
    assert!(!range_first(&db, &c, Some(7)).await.unwrap());
    let c = Criteria::from_filter(&a1, &range(Some("2026-11-01"), Some("2026-11-04"))).unwrap();
    assert!(range_first(&db, &c, None).await.unwrap());
    assert!(!range_first(&db, &c, Some(4)).await.unwrap());
    assert_eq!(
        seqs(&a1, range(Some("2026-11-05"), Some("2026-11-06"))).await,
        [8, 7, 6]
    );
    assert_eq!(
        seqs(&all, range(None, Some("2026-11-04"))).await,
        [5, 4, 3, 2, 1]
    );
    let security = AuditFilter {
        security_only: Some("on".into()),
        ..Default::default()
    };
    assert_eq!(seqs(&all, security.clone()).await, [7, 5, 3]);
    assert_eq!(seqs(&a1, security).await, [7, 3]);
    let none = AuditFilter {
        security_only: Some("off".into()),
        ..Default::default()
    };
    assert_eq!(seqs(&a1, none).await, [8, 7, 6, 3, 2, 1]);

    // Keyset pages of two: 8 7 | 6 3 | 2 1, then no next page.
    let mut before = None;
    let mut pages = Vec::new();
    loop {
        let (entries, next) = page(&db, &a1, &AuditFilter::default(), before, 2)
            .await
            .unwrap();
        pages.push(entries.iter().map(|e| e.seq).collect::<Vec<_>>());
        match next {
            Some(n) => before = Some(n),
            None => break,
        }
        assert!(pages.len() < 10);
    }
    assert_eq!(pages, [vec![8, 7], vec![6, 3], vec![2, 1]]);
    // The same, read range first (a range with an end).
    let ranged = range(Some("2026-11-02"), Some("2026-11-05"));
    let (first, next) = page(&db, &a1, &ranged, None, 2).await.unwrap();
    assert_eq!(first.iter().map(|e| e.seq).collect::<Vec<_>>(), [7, 6]);
    assert_eq!(next, Some(6));
    let (second, next) = page(&db, &a1, &ranged, Some(6), 2).await.unwrap();
    assert_eq!(second.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 2]);
    assert_eq!(next, None);
    let entry = &page(&db, &a1, &token("preq_abc1234"), Some(7), 50)
        .await
        .unwrap()
        .0[0];
    assert_eq!(
        (entry.seq, entry.account_email.as_deref(), entry.security),
        (1, Some("one@example.com"), false)
    );
    // The export's check (before = i64::MIN + 1, one row): no error.
    assert!(
        page(&db, &all, &AuditFilter::default(), Some(i64::MIN + 1), 1)
            .await
            .unwrap()
            .0
            .is_empty()
    );
    assert!(matches!(
        page(
            &db,
            &a1,
            &AuditFilter {
                action: Some("nope".into()),
                ..Default::default()
            },
            None,
            50
        )
        .await,
        Err(Fault::Invalid {
            input: Input::AuditAction,
            ..
        })
    ));
    cleanup().await;
}
