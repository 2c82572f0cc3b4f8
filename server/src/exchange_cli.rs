//! `preqstation tokens exchange --task ID [--ttl 30m] [--scope "..."]
//! [--usage-limit N]`: an orchestrating agent trades its own token
//! (`PREQSTATION_TOKEN`, which needs `tokens:delegate`) for a task-scoped
//! one at `PREQSTATION_API_URL/oauth/token` (RFC 8693) and prints the
//! `export` lines that start a sub-agent with it:
//!
//! ```sh
//! eval "$(preqstation tokens exchange --task "$TASK" --ttl 30m)"
//! ```
//!
//! With `--oidc`, a CI job trades its platform's OIDC ID token instead
//! (GitHub Actions or GitLab CI; `crate::oidc_cli`, which shares this
//! module's `flag`, `seconds`, `client` and `post`).

use std::time::Duration;

use crate::mcp_stdio::{api_url, is_loopback, required, token};

const USAGE: &str = "usage: preqstation tokens exchange --task ID [--ttl 30m] [--scope \"tasks:read tasks:write\"] [--usage-limit N]\n\
reads PREQSTATION_API_URL and PREQSTATION_TOKEN (which needs the tokens:delegate scope)\n\
in CI: preqstation tokens exchange --oidc [--audience URL] [--scope S] [--ttl 15m] [--token-env NAME] (see --oidc --help)";

/// `30m`, `2h`, `900s` or `900` (seconds).
pub(crate) fn seconds(ttl: &str) -> Result<u64, String> {
    let ttl = ttl.trim();
    let (number, unit) = match ttl.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&ttl[..i], c),
        _ => (ttl, 's'),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("--ttl {ttl:?}: write e.g. 30m, 2h or 900s"))?;
    let factor = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        _ => return Err(format!("--ttl {ttl:?}: the unit is s, m or h")),
    };
    Ok(n * factor)
}

/// The value of `--name` in `args`.
pub(crate) fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

pub async fn run(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "--oidc") {
        return crate::oidc_cli::run(args).await;
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    let task = flag(args, "--task").ok_or_else(|| format!("--task is required\n{USAGE}"))?;
    let base = api_url(&required("PREQSTATION_API_URL")?)?;
    let subject = token(&required("PREQSTATION_TOKEN")?)?;
    let details = serde_json::json!([{"type": "preqstation_task", "task_id": task}]).to_string();
    let mut form: Vec<(&str, String)> = vec![
        ("grant_type", app::tokens::task::GRANT_TYPE.into()),
        ("subject_token", subject.0.clone()),
        (
            "subject_token_type",
            app::tokens::task::ACCESS_TOKEN_TYPE.into(),
        ),
        ("authorization_details", details),
    ];
    if let Some(ttl) = flag(args, "--ttl") {
        form.push(("expires_in", seconds(ttl)?.to_string()));
    }
    if let Some(scope) = flag(args, "--scope") {
        form.push(("scope", scope.into()));
    }
    if let Some(limit) = flag(args, "--usage-limit") {
        form.push(("usage_limit", limit.into()));
    }
    let (issued, body) = post(&base, &form).await?;
    println!("export PREQSTATION_TOKEN={issued}");
    println!("export PREQSTATION_API_URL={base}");
    println!("export PREQSTATION_TASK_ID={task}");
    println!(
        "# task-scoped token for task {task}, scopes {}, expires in {} s",
        body["scope"].as_str().unwrap_or_default(),
        body["expires_in"].as_i64().unwrap_or_default()
    );
    Ok(())
}

/// A client for `url`: no proxy for this machine, bounded time, no
/// redirects (a token is never sent where it was not meant to go).
pub(crate) fn client(url: &str) -> Result<reqwest::Client, String> {
    let mut client = reqwest::Client::builder();
    if reqwest::Url::parse(url).is_ok_and(|u| is_loopback(&u)) {
        client = client.no_proxy();
    }
    client
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot start the HTTP client: {e}"))
}

/// POSTs an exchange `form` to `base`'s token endpoint: the issued token
/// and the whole answer, or the refusal in words.
pub(crate) async fn post(
    base: &str,
    form: &[(&str, String)],
) -> Result<(String, serde_json::Value), String> {
    let reply = client(base)?
        .post(format!("{base}/oauth/token"))
        .form(form)
        .send()
        .await
        .map_err(|e| format!("cannot reach {base}: {}", e.without_url()))?;
    let status = reply.status();
    let body: serde_json::Value = reply
        .json()
        .await
        .map_err(|_| format!("{base} did not answer with JSON ({status})"))?;
    let Some(issued) = body["access_token"]
        .as_str()
        .filter(|_| status.is_success())
    else {
        return Err(format!(
            "the exchange was refused: {} ({})",
            body["error_description"]
                .as_str()
                .unwrap_or("no description"),
            body["error"].as_str().unwrap_or("error")
        ));
    };
    Ok((issued.to_string(), body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_units() {
        assert_eq!(seconds("30m"), Ok(1800));
        assert_eq!(seconds("2h"), Ok(7200));
        assert_eq!(seconds("900"), Ok(900));
        assert_eq!(seconds("45s"), Ok(45));
        assert!(seconds("10d").is_err());
        assert!(seconds("m").is_err());
    }
}
