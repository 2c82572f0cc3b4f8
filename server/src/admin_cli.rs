//! `preqstation tokens …` and `preqstation accounts …`: the credentials
//! inventory and account administration for headless servers. They run on
//! the server against its database (the same configuration as `serve`),
//! call the same service functions as the dashboard, and are audited with
//! actor kind `cli`. A running server sees a change on its next request.
//!
//! Output: tables for people, `--json` for scripts. Exit codes (documented
//! in docs/tokens.md, "Command line"): 0 done, 1 failed (configuration,
//! database), 2 usage, 3 not found, 4 more than one credential matches.

use std::{io::BufRead, process::ExitCode};

use app::{
    audit::{ActorKind, AuditAction, NewEvent, Outcome},
    config::Config,
    fault::Fault,
    tokens::{
        inventory::{self, Credential, Found, Query, Revoker},
        TokenStatus,
    },
    types::Timestamp,
};

const TOKENS_USAGE: &str = "\
usage: preqstation tokens list [--account EMAIL] [--status active|expired|revoked] [--json]
       preqstation tokens show PREFIX|TOKEN|- [--json]
       preqstation tokens revoke PREFIX|TOKEN|- [--reason TEXT] [--json]
  (`-` reads a whole token from standard input, so it stays out of the process list)";
const ACCOUNTS_USAGE: &str = "\
usage: preqstation accounts list [--json]
       preqstation accounts disable EMAIL
       preqstation accounts reset-two-factor EMAIL";

/// How a command ended, as its exit code.
enum Failure {
    Failed(String),
    Usage(String),
    NotFound(String),
    Ambiguous(Vec<Credential>),
}

impl Failure {
    fn report(self, json: bool) -> ExitCode {
        let (code, message) = match &self {
            Failure::Failed(m) => (1, m.clone()),
            Failure::Usage(m) => (2, m.clone()),
            Failure::NotFound(m) => (3, m.clone()),
            Failure::Ambiguous(c) => (
                4,
                format!(
                    "{} credentials match; give more of the prefix or the whole token",
                    c.len()
                ),
            ),
        };
        if json {
            let mut body = serde_json::json!({"error": {"code": code, "message": message}});
            if let Failure::Ambiguous(candidates) = &self {
                body["error"]["candidates"] = serde_json::json!(candidates);
            }
            println!("{body}");
        } else {
            eprintln!("preqstation: {message}");
            if let Failure::Ambiguous(candidates) = &self {
                print_credentials(candidates);
            }
        }
        ExitCode::from(code)
    }
}

impl From<Fault> for Failure {
    fn from(f: Fault) -> Self {
        match f {
            Fault::NotFound(m) => Failure::NotFound(m),
            Fault::Invalid { message, .. } => Failure::Usage(message),
            other => Failure::Failed(other.to_string()),
        }
    }
}

/// The flags after the noun and verb: `--json`, and `--name VALUE` pairs.
struct Flags<'a> {
    json: bool,
    values: Vec<(&'a str, &'a str)>,
    positional: Vec<&'a str>,
}

fn flags(args: &[String]) -> Result<Flags<'_>, Failure> {
    let mut out = Flags {
        json: false,
        values: Vec::new(),
        positional: Vec::new(),
    };
    let mut it = args.iter().map(String::as_str);
    while let Some(arg) = it.next() {
        match arg {
            "--json" => out.json = true,
            "--account" | "--status" | "--reason" => {
                let value = it
                    .next()
                    .ok_or_else(|| Failure::Usage(format!("{arg} needs a value")))?;
                out.values.push((arg, value));
            }
            other if other.starts_with("--") => {
                return Err(Failure::Usage(format!("unknown option {other}")))
            }
            other => out.positional.push(other),
        }
    }
    Ok(out)
}

impl Flags<'_> {
    fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

async fn open() -> Result<(Config, app::db::Db), Failure> {
    let config = Config::from_env().map_err(|e| Failure::Failed(e.to_string()))?;
    let db = crate::open_database(&config)
        .await
        .map_err(Failure::Failed)?;
    Ok((config, db))
}

/// `preqstation tokens …`
pub async fn tokens(args: &[String]) -> ExitCode {
    let json = args.iter().any(|a| a == "--json");
    match tokens_command(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.report(json),
    }
}

async fn tokens_command(args: &[String]) -> Result<(), Failure> {
    let (verb, rest) = args
        .split_first()
        .ok_or_else(|| Failure::Usage(TOKENS_USAGE.into()))?;
    let flags = flags(rest)?;
    match (verb.as_str(), flags.positional.as_slice()) {
        ("list", []) => {
            let status = match flags.value("--status") {
                None => None,
                Some(s) => Some(TokenStatus::parse(s).ok_or_else(|| {
                    Failure::Usage("--status is active, expired or revoked".into())
                })?),
            };
            let (config, db) = open().await?;
            let query = Query {
                account: flags.value("--account").map(str::to_string),
                status,
                ..Query::default()
            };
            let found = inventory::list(&db, &config, &query, Timestamp::now()).await?;
            db.close().await;
            if flags.json {
                println!("{}", serde_json::json!(found));
            } else {
                print_credentials(&found);
            }
            Ok(())
        }
        ("show", [search]) => {
            let (config, db) = open().await?;
            let found = find(&db, &config, search).await?;
            db.close().await;
            if flags.json {
                println!("{}", serde_json::json!(found));
            } else {
                print_one(&found);
            }
            Ok(())
        }
        ("revoke", [search]) => {
            let (config, db) = open().await?;
            let now = Timestamp::now();
            let found = find(&db, &config, search).await?;
            let base = NewEvent::new(AuditAction::TokenRevoked, ActorKind::Cli, Outcome::Success)
                .actor("preqstation tokens revoke");
            let revoked = inventory::revoke(
                &db,
                &config,
                found.kind,
                &found.id,
                Revoker::CommandLine,
                flags.value("--reason"),
                &base,
                now,
            )
            .await?;
            db.close().await;
            if flags.json {
                println!("{}", serde_json::json!(revoked));
            } else {
                println!(
                    "Revoked {} {} of {} ({}).",
                    revoked.kind.label(),
                    revoked.prefix,
                    revoked.owner,
                    revoked.name
                );
            }
            Ok(())
        }
        _ => Err(Failure::Usage(TOKENS_USAGE.into())),
    }
}

/// The one credential a prefix or a whole token (`-`: from stdin) names.
async fn find(db: &app::db::Db, config: &Config, search: &str) -> Result<Credential, Failure> {
    let search = if search == "-" {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::Failed(format!("cannot read standard input: {e}")))?;
        line.trim().to_string()
    } else {
        search.to_string()
    };
    inventory::find(db, config, &search, Timestamp::now())
        .await
        .map_err(|f| match f {
            Found::Fault(f) => f.into(),
            Found::Many(candidates) => Failure::Ambiguous(candidates),
        })
}

fn date(t: Option<Timestamp>) -> String {
    t.map(|t| t.rfc3339().chars().take(10).collect())
        .unwrap_or_else(|| "never".into())
}

fn status(s: TokenStatus) -> &'static str {
    match s {
        TokenStatus::Active => "active",
        TokenStatus::Expired => "expired",
        TokenStatus::Revoked => "revoked",
    }
}

fn print_credentials(list: &[Credential]) {
    println!(
        "{:<12}  {:<12}  {:<28}  {:<24}  {:<8}  {:<10}  {:<10}",
        "PREFIX", "KIND", "OWNER", "NAME", "STATUS", "EXPIRES", "LAST USED"
    );
    for c in list {
        println!(
            "{:<12}  {:<12}  {:<28}  {:<24}  {:<8}  {:<10}  {:<10}",
            c.prefix,
            c.kind.as_str(),
            c.owner,
            c.name.chars().take(24).collect::<String>(),
            status(c.status),
            date(c.expires_at),
            date(c.last_used_at)
        );
    }
}

fn print_one(c: &Credential) {
    let allowed = if c.allowed_ips.is_empty() {
        "any IP".to_string()
    } else {
        c.allowed_ips.join(", ")
    };
    for (label, value) in [
        ("prefix", c.prefix.clone()),
        ("kind", c.kind.label().to_string()),
        ("id", c.id.clone()),
        ("owner", c.owner.clone()),
        ("name", c.name.clone()),
        ("scopes", c.scopes.join(" ")),
        ("status", status(c.status).to_string()),
        ("created", c.created_at.rfc3339()),
        (
            "expires",
            c.expires_at
                .map(|t| t.rfc3339())
                .unwrap_or_else(|| "never".into()),
        ),
        (
            "last used",
            c.last_used_at
                .map(|t| t.rfc3339())
                .unwrap_or_else(|| "never".into()),
        ),
        ("last IP", c.last_used_ip.clone().unwrap_or_default()),
        ("IPs seen", c.ips.to_string()),
        ("allowed from", allowed),
        ("revoked by", c.revoked_by.clone().unwrap_or_default()),
    ] {
        println!("{label:<13} {value}");
    }
}

/// `preqstation accounts …`
pub async fn accounts(args: &[String]) -> ExitCode {
    let json = args.iter().any(|a| a == "--json");
    match accounts_command(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.report(json),
    }
}

/// The account with this email, or a usage / not-found failure.
async fn account_named(db: &app::db::Db, email: &str) -> Result<app::accounts::Account, Failure> {
    let normalized =
        app::accounts::normalize_email(email).map_err(|m| Failure::Usage(m.to_string()))?;
    app::accounts::find_by_email(db, &normalized)
        .await
        .map_err(|e| Failure::Failed(e.to_string()))?
        .ok_or_else(|| Failure::NotFound(format!("No account {email}.")))
}

async fn accounts_command(args: &[String]) -> Result<(), Failure> {
    let (verb, rest) = args
        .split_first()
        .ok_or_else(|| Failure::Usage(ACCOUNTS_USAGE.into()))?;
    let flags = flags(rest)?;
    match (verb.as_str(), flags.positional.as_slice()) {
        ("list", []) => {
            let (config, db) = open().await?;
            let now = Timestamp::now();
            let list =
                app::accounts::admin::list(&db, now, now.plus_secs(-config.session_max_age_secs))
                    .await
                    .map_err(|e| Failure::Failed(e.to_string()))?;
            db.close().await;
            if flags.json {
                println!("{}", serde_json::json!(list));
            } else {
                println!(
                    "{:<32}  {:<7}  {:<10}  {:<8}  {:>6}",
                    "EMAIL", "ROLE", "CREATED", "STATUS", "TOKENS"
                );
                for a in &list {
                    println!(
                        "{:<32}  {:<7}  {:<10}  {:<8}  {:>6}",
                        a.email,
                        a.role.as_str(),
                        date(Some(a.created_at)),
                        if a.disabled_at.is_some() {
                            "disabled"
                        } else {
                            "active"
                        },
                        a.active_tokens
                    );
                }
            }
            Ok(())
        }
        ("disable", [email]) => {
            let (config, db) = open().await?;
            let account = account_named(&db, email).await?;
            let base = NewEvent::new(
                AuditAction::AccountDisabled,
                ActorKind::Cli,
                Outcome::Success,
            )
            .actor("preqstation accounts disable");
            let ended = app::accounts::admin::set_disabled(
                &db,
                &config.keys,
                None,
                account.id,
                true,
                &base,
                Timestamp::now(),
            )
            .await?;
            db.close().await;
            if flags.json {
                println!(
                    "{}",
                    serde_json::json!({"email": account.email, "sessions_ended": ended.sessions,
                        "tokens_revoked": ended.tokens, "apps_revoked": ended.apps})
                );
            } else {
                println!(
                    "Disabled {}: {} sessions ended, {} API keys and {} connected apps revoked.",
                    account.email, ended.sessions, ended.tokens, ended.apps
                );
            }
            Ok(())
        }
        ("reset-two-factor", [email]) => {
            let (config, db) = open().await?;
            let account = account_named(&db, email).await?;
            let base = NewEvent::new(
                AuditAction::TwoFactorReset,
                ActorKind::Cli,
                Outcome::Success,
            )
            .actor("preqstation accounts reset-two-factor");
            app::second_factor::service::admin_reset(
                &db,
                &config.keys,
                account.id,
                &account.email,
                "the server's command line",
                &base,
                Timestamp::now(),
            )
            .await?;
            db.close().await;
            if flags.json {
                println!(
                    "{}",
                    serde_json::json!({"email": account.email, "two_factor": false})
                );
            } else {
                println!(
                    "Reset the second factor of {}: the password alone signs in until a new one is set up.",
                    account.email
                );
            }
            Ok(())
        }
        _ => Err(Failure::Usage(ACCOUNTS_USAGE.into())),
    }
}
