//! The project page stays small however much work agents log: it shows each
//! task's latest few work logs with a link to a paginated page of all of
//! them (the REST list's pages), and every query is the owner's.

mod common;

use app::{
    projects::Reach,
    tasks::{service, TaskStatus, LATEST_LOGS_PER_TASK, LOGS_PER_PAGE},
    types::{AccountId, Lookup, Timestamp},
};
use common::{owner, project, Owner, TestApp};
use sqlx::Row;

const TASKS: usize = 3;
const LOGS_PER_TASK: usize = 80;
const LOG_CHARS: usize = 10_000;

async fn account_id(app: &TestApp, email: &str) -> AccountId {
    let row = sqlx::query("SELECT id FROM accounts WHERE email = $1")
        .bind(email)
        .fetch_one(&app.state.db)
        .await
        .expect("account row");
    AccountId::parse(&row.get::<String, _>("id")).expect("account id")
}

/// A work log message of exactly [`LOG_CHARS`] characters that starts with
/// a marker findable in the page.
fn message(marker: &str) -> String {
    let mut m = format!("{marker} ");
    m.push_str(&"x".repeat(LOG_CHARS - m.len()));
    m
}

/// `TASKS` tasks in a new project of `o`, each with `LOGS_PER_TASK` logs of
/// 10,000 characters (240 in all); returns the project id and, per task,
/// its id and its log markers in id order.
async fn busy_project(
    app: &TestApp,
    o: &Owner,
    email: &str,
    tag: &str,
) -> (String, Vec<(String, Vec<String>)>) {
    let me = account_id(app, email).await;
    let pid = project(app, o, &format!("busy-{tag}")).await;
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let new = service::NewTask::validate(&pid, &format!("task {tag}{t}"), None, None).unwrap();
        let Lookup::Found(task) =
            service::create(&app.state.db, &Reach::all(me), new, None, Timestamp::now())
                .await
                .unwrap()
        else {
            panic!("task not created");
        };
        for n in 0..LOGS_PER_TASK {
            let marker = format!("log-{tag}{t}-{n:03}");
            let added = service::add_log(
                &app.state.db,
                &Reach::all(me),
                &task.id,
                &message(&marker),
                Some(1),
                None,
                Timestamp::now(),
            )
            .await
            .unwrap();
            assert!(matches!(added, Lookup::Found(_)));
        }
        // The markers in the order the database sorts the logs (by id).
        let rows = sqlx::query("SELECT message FROM work_logs WHERE task_id = $1 ORDER BY id")
            .bind(&task.id)
            .fetch_all(&app.state.db)
            .await
            .unwrap();
        let markers = rows
            .iter()
            .map(|r| {
                let m: String = r.get("message");
                m.split(' ').next().unwrap_or_default().to_string()
            })
            .collect();
        tasks.push((task.id, markers));
    }
    (pid, tasks)
}

/// The `/tasks/{id}/logs?cursor=...` link in a page, if there is one.
fn next_link(body: &str, task_id: &str) -> Option<String> {
    let start = format!("/tasks/{task_id}/logs?cursor=");
    let at = body.find(&start)?;
    let rest = &body[at..];
    let end = rest.find(['"', '&', '<', '\\'])?;
    Some(rest[..end].to_string())
}

#[tokio::test]
async fn the_project_page_shows_the_latest_logs_per_task_and_links_to_the_rest() {
    let app = TestApp::new().await;
    let a = owner(&app, "a@example.com", true).await;
    let b = owner(&app, "b@example.com", false).await;
    let (pid, tasks) = busy_project(&app, &a, "a@example.com", "a").await;
    // Another owner's busy project: none of it may show on A's pages.
    let (_, b_tasks) = busy_project(&app, &b, "b@example.com", "b").await;

    let page = app.get(&format!("/projects/{pid}"), Some(&a.cookie)).await;
    assert_eq!(page.status, 200);
    // 240 logs of 10,000 characters made this page about 4.9 MB: now the
    // latest 3 of each of the 3 tasks, in the HTML and in the hydration
    // data (about 180 KB of messages) plus the page around them.
    assert!(
        page.body.len() < 400_000,
        "the project page is {} bytes",
        page.body.len()
    );
    let per_task = LATEST_LOGS_PER_TASK as usize;
    for (tid, markers) in &tasks {
        let (older, latest) = markers.split_at(LOGS_PER_TASK - per_task);
        for m in latest {
            assert!(page.body.contains(m.as_str()), "{m} is on the page");
        }
        for m in older {
            assert!(!page.body.contains(m.as_str()), "{m} is not on the page");
        }
        assert!(
            page.body.contains(&format!("href=\"/tasks/{tid}/logs\"")),
            "a link to all of the task's work logs"
        );
    }
    assert!(page.body.contains(&format!(
        "The latest {per_task} of {LOGS_PER_TASK} entries."
    )));
    for (_, markers) in &b_tasks {
        assert!(!page.body.contains(markers[LOGS_PER_TASK - 1].as_str()));
    }

    // The server function behind it carries the same, and the count.
    let rpc = app
        .call(
            "tasks/for-project",
            &[("project_id", &pid)],
            Some(&a.cookie),
        )
        .await;
    assert_eq!(rpc.status, 200, "{}", rpc.body);
    let list = rpc.json();
    assert_eq!(list.as_array().map(Vec::len), Some(TASKS));
    for item in list.as_array().unwrap() {
        assert_eq!(item["logs"].as_array().map(Vec::len), Some(per_task));
        assert_eq!(item["log_count"], LOGS_PER_TASK as i64);
    }
    // A status filter still applies.
    let rpc = app
        .call(
            "tasks/for-project",
            &[("project_id", &pid), ("status", TaskStatus::Done.as_str())],
            Some(&a.cookie),
        )
        .await;
    assert_eq!(rpc.json().as_array().map(Vec::len), Some(0));

    // The link leads to every log of the task, a page at a time, in the
    // REST list's order, following the "Next page" links to the end.
    let (tid, markers) = &tasks[0];
    let mut url = format!("/tasks/{tid}/logs");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let res = app.get(&url, Some(&a.cookie)).await;
        assert_eq!(res.status, 200, "{url}");
        assert!(
            res.body.len() < 600_000,
            "{url} is {} bytes",
            res.body.len()
        );
        pages += 1;
        let on_page: Vec<&String> = markers
            .iter()
            .filter(|m| res.body.contains(m.as_str()))
            .collect();
        assert!(on_page.len() <= LOGS_PER_PAGE as usize, "{url}");
        seen.extend(on_page.into_iter().cloned());
        match next_link(&res.body, tid) {
            Some(next) => url = next,
            None => break,
        }
        assert!(pages < 10, "the pages end");
    }
    assert_eq!(&seen, markers, "every log once, oldest first");
    assert_eq!(pages, LOGS_PER_TASK.div_ceil(LOGS_PER_PAGE as usize));

    // Another owner's task: not found, and nothing of it shown.
    let (b_tid, b_markers) = &b_tasks[0];
    let res = app
        .get(&format!("/tasks/{b_tid}/logs"), Some(&a.cookie))
        .await;
    assert!(res.body.contains("No such task."), "{}", res.body);
    assert!(!b_markers.iter().any(|m| res.body.contains(m.as_str())));
    let rpc = app
        .call("tasks/logs", &[("task_id", b_tid)], Some(&a.cookie))
        .await;
    assert_eq!(rpc.status, 404, "{}", rpc.body);
    // A cursor that is not one: refused, not a first page.
    let rpc = app
        .call(
            "tasks/logs",
            &[("task_id", tid), ("cursor", "nonsense")],
            Some(&a.cookie),
        )
        .await;
    assert_eq!(rpc.status, 422, "{}", rpc.body);
    // Signed out: no logs at all.
    let rpc = app.call("tasks/logs", &[("task_id", tid)], None).await;
    assert_eq!(rpc.status, 401, "{}", rpc.body);
}
