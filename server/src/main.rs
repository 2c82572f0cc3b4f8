//! The `preqstation` binary: read configuration, open the database, run the
//! migrations, build the router, serve. Also `create-admin` for headless
//! installs, `audit verify`, `tokens` and `accounts` (the credentials
//! inventory and account administration), and `mcp` (the stdio MCP server
//! for agents).

mod admin_cli;
mod exchange_cli;
mod keys_cli;
mod leak_cli;
mod mcp_stdio;
mod oidc_cli;

use app::audit::{ActorKind, AuditAction, Outcome};
use std::{io::BufRead, net::SocketAddr, process::ExitCode, time::Duration};

use app::{
    accounts::{self, NewAccount},
    config::Config,
    db,
    keys::KeySource,
    state::AppState,
    types::{Role, Timestamp},
    web,
};

const USAGE: &str = "\
Usage:
  preqstation [serve]                  run the web server
  preqstation create-admin --email E   create an admin account; the password is read from stdin
  preqstation audit verify             check the audit log's hash chain; exit 1 at the first altered or removed entry
  preqstation keys list                list the server's keys (ids, dates, what still uses them)
  preqstation keys rotate [--staged]   add a new key; it signs from the next start (--staged: verify only)
  preqstation keys promote ID          let a staged key sign
  preqstation keys retire ID           remove a key once nothing it protects is kept
  preqstation tokens list [--account EMAIL] [--status active|expired|revoked] [--json]
                                       every account's API keys and connected apps
  preqstation tokens show PREFIX|TOKEN|- [--json]
                                       one credential (a whole token is compared by its hash; - reads it from stdin)
  preqstation tokens revoke PREFIX|TOKEN|- [--reason TEXT] [--json]
                                       revoke it as an administrator (audited as the command line)
  preqstation accounts list [--json]   the accounts with their status and active tokens
  preqstation accounts disable EMAIL   disable an account: its sessions end, its tokens and apps are revoked
  preqstation accounts reset-two-factor EMAIL
                                       remove an account's second factor (a lost phone, the last admin locked out)
  preqstation leak-keys add|list|remove
                                       the public keys leaked-token reports must be signed with
  preqstation leak-report keygen FILE | --url URL --key-id ID --key FILE REPORT...
                                       make a signing key; send gitleaks/trufflehog findings as a signed report
  preqstation mcp                      MCP server on stdio for an agent; needs PREQSTATION_API_URL and PREQSTATION_TOKEN
  preqstation tokens exchange --task ID [--ttl 30m] [--scope S] [--usage-limit N]
                                       trade PREQSTATION_TOKEN (tokens:delegate) for a task-scoped token;
                                       prints the export lines for a sub-agent
  preqstation tokens exchange --oidc [--audience URL] [--scope S] [--ttl 15m] [--token-env NAME]
                                       in CI: trade the job's OIDC ID token (GitHub Actions, GitLab CI)
                                       for a CI token under a trust rule; prints the export lines

Exit codes of tokens and accounts: 0 done, 1 failed, 2 usage, 3 not found, 4 more than one credential matches.

Configuration comes from environment variables; see docs/configuration.md.";

/// mimalloc instead of glibc's malloc: under load the request path spent
/// about 15 % of its CPU in glibc's allocator (arena locks, consolidation)
/// across the Tokio workers and sqlx's threads (docs/benchmarks.md). Not
/// the C `malloc` as well (the crate's `override` feature): that made a
/// page of tasks ~8 % faster on SQLite but its resident memory under load
/// grew by a quarter (c=512: 160 MB instead of 125-131), measured
/// 2026-12-04.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into());
    // rmcp logs requests with their arguments at debug level; a tool's
    // arguments may hold a secret (verify_token).
    if let Ok(cap) = "rmcp=info".parse() {
        filter = filter.add_directive(cap);
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // stdout carries `preqstation mcp`'s protocol messages: logs go to stderr.
        .with_writer(std::io::stderr)
        .init();

    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("tokens") if args.get(1).map(String::as_str) == Some("exchange") => {
            return match exchange_cli::run(&args[2..]).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("preqstation: {message}");
                    ExitCode::FAILURE
                }
            };
        }
        Some("tokens") => return admin_cli::tokens(&args[1..]).await,
        Some("accounts") => return admin_cli::accounts(&args[1..]).await,
        Some("leak-keys") => return leak_cli::keys(&args[1..]).await,
        Some("leak-report") => return leak_cli::report(&args[1..]).await,
        _ => {}
    }
    let result = match args.first().map(String::as_str) {
        None | Some("serve") => serve().await,
        Some("create-admin") => create_admin(&args[1..]).await,
        Some("audit") if args.get(1).map(String::as_str) == Some("verify") => audit_verify().await,
        Some("keys") => keys_cli::run(&args[1..]).await,
        Some("mcp") => mcp_stdio::run().await,
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("preqstation: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn open_database(config: &Config) -> Result<db::Db, String> {
    db::files::private_dir(&config.data_dir).map_err(|e| {
        format!(
            "cannot create or secure the data directory {}: {e}",
            config.data_dir.display()
        )
    })?;
    let pool = db::connect(&config.database_url)
        .await
        .map_err(|e| e.to_string())?;
    db::migrate(&pool).await.map_err(|e| e.to_string())?;
    Ok(pool)
}

/// While no account exists, issues a one-time setup code: printed once to
/// stdout and written to the data directory (0600), never to the log.
async fn announce_setup_code(
    pool: &app::db::Db,
    data_dir: &std::path::Path,
    public_url: &str,
) -> Result<(), String> {
    use app::auth::setup_code;
    let Some(code) = setup_code::issue(pool, app::types::Timestamp::now())
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let file = match std::fs::create_dir_all(data_dir)
        .and_then(|_| setup_code::write_file(data_dir, &code))
    {
        Ok(path) => format!(
            "It is also in {} (readable by this user only).",
            path.display()
        ),
        Err(e) => format!("It could not be written to the data directory: {e}."),
    };
    tracing::info!("first run: a one-time setup code was printed to standard output");
    println!(
        "\n  Preqstation is not set up yet. Open {public_url}/setup and enter this one-time setup code:\n\n      {code}\n\n  \
         {file}\n  It works until the first account is created, for 24 hours at most (a restart prints a new one).\n"
    );
    Ok(())
}

async fn serve() -> Result<(), String> {
    let mut config = Config::from_env().map_err(|e| e.to_string())?;
    let key_ids = config.keys.ids().join(", ");
    match config.keys.source() {
        KeySource::GeneratedFile => tracing::info!(
            "generated the server's keyring in {}",
            config.data_dir.join(app::keys::FILE_NAME).display()
        ),
        KeySource::UpgradedFile => tracing::info!(
            "moved session.key into the keyring {} as key k0 (nobody is signed out)",
            config.data_dir.join(app::keys::FILE_NAME).display()
        ),
        KeySource::Environment => {
            tracing::info!(keys = %key_ids, "server keys from the environment")
        }
        _ => tracing::info!(keys = %key_ids, "server keys from the keyring file"),
    }
    if config.cookie_will_be_dropped() {
        tracing::warn!(
            public_url = %config.public_url,
            "PREQSTATION_PUBLIC_URL is plain http on a non-loopback host: browsers will refuse the \
             __Host-session cookie and nobody can sign in. Put Preqstation behind TLS (see docs/deployment.md)."
        );
        eprintln!(
            "\n  WARNING: {} is plain http on a non-loopback host; sign-in will not work.\n  \
             Serve Preqstation over https (docs/deployment.md).\n",
            config.public_url
        );
    }
    let pool = open_database(&config).await?;
    match app::audit::chain::keyed_start(&pool, &mut config.keys, true).await? {
        app::audit::chain::KeyedStart::PinnedNow(seq) => tracing::info!(
            seq,
            "the audit chain is keyed from entry {seq} on (pinned in the keyring)"
        ),
        app::audit::chain::KeyedStart::Unpinned(seq) => tracing::warn!(
            seq,
            "set PREQSTATION_AUDIT_KEYED_FROM={seq} with PREQSTATION_KEYS, so where the keyed \
             audit chain starts is not taken from the database (docs/security.md)"
        ),
        app::audit::chain::KeyedStart::Pinned(_) => {}
    }
    app::audit::head::reseal(&pool, &config.keys)
        .await
        .map_err(|e| format!("cannot authenticate the audit log's head: {e}"))?;
    let listen = config.listen;
    let public_url = config.public_url.clone();
    let backend = if config.is_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let data_dir = config.data_dir.clone();
    let metrics_listen = config.metrics_listen;
    let state = AppState::new(web::leptos_options(&config), pool.clone(), config);
    if let Some(addr) = metrics_listen {
        let handle = app::metrics::install()?;
        app::metrics::serve(addr, handle, state.clone()).await?;
    }
    announce_setup_code(&pool, &data_dir, &public_url).await?;
    app::maintenance::spawn(state.clone());
    let router = web::router(state.clone());

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e} (set PREQSTATION_LISTEN)"))?;
    tracing::info!(%listen, backend, "Preqstation is running at {public_url}");
    println!("Preqstation is running at {public_url}  (database: {backend}; Ctrl-C to stop)");
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| format!("server error: {e}"))?;
    // Every queued audit event is written before the process exits.
    // Bounded, so a database that is gone cannot hold the process forever;
    // what could not be written is reported, not silently dropped.
    if !state.audit.flush(Duration::from_secs(30)).await {
        tracing::error!("audit queue not flushed within 30 s; queued events may be lost");
    }
    if tokio::time::timeout(Duration::from_secs(10), pool.close())
        .await
        .is_err()
    {
        tracing::warn!("database pool did not close within 10 s");
    }
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

async fn create_admin(args: &[String]) -> Result<(), String> {
    let email = match args {
        [flag, email] if flag == "--email" => email.clone(),
        [arg] if arg.starts_with("--email=") => arg["--email=".len()..].to_string(),
        _ => return Err(format!("create-admin needs --email EMAIL\n\n{USAGE}")),
    };
    let config = Config::from_env().map_err(|e| e.to_string())?;
    eprintln!("Password for {email} (read from standard input):");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    let new = NewAccount::validate(&email, password, Role::Admin).map_err(|e| e.to_string())?;
    let pool = open_database(&config).await?;
    let base = app::audit::NewEvent::new(
        AuditAction::AccountCreated,
        ActorKind::System,
        Outcome::Success,
    )
    .actor("preqstation create-admin (CLI)");
    let account = accounts::create(&pool, &config.keys, new, &base, Timestamp::now())
        .await
        .map_err(|e| e.to_string())?;
    // An account exists now: a setup code printed by an earlier `serve` is
    // of no use, and its file and rows go.
    app::auth::setup_code::retire_all(&pool, &config.data_dir).await;
    pool.close().await;
    println!("Created admin account {} ({})", account.email, account.id);
    Ok(())
}

async fn audit_verify() -> Result<(), String> {
    use app::audit::chain::{verify_at, Verdict};
    let mut config = Config::from_env().map_err(|e| e.to_string())?;
    let pool = open_database(&config).await?;
    let start = app::audit::chain::keyed_start(&pool, &mut config.keys, false).await?;
    if let app::audit::chain::KeyedStart::Unpinned(seq) = start {
        eprintln!(
            "warning: where the keyed chain starts (entry {seq}) was read from the database; \
             pin it with PREQSTATION_AUDIT_KEYED_FROM={seq} (docs/security.md)"
        );
    }
    let verdict = verify_at(
        &pool,
        &config.keys,
        start.seq(),
        Some(config.audit_retention_days),
        Timestamp::now(),
    )
    .await
    .map_err(|e| format!("cannot read the audit log: {e}"))?;
    pool.close().await;
    match verdict {
        Verdict::Intact { entries, first_seq, last_seq } => {
            println!("audit log intact: {entries} entries (seq {first_seq}..={last_seq})");
            Ok(())
        }
        Verdict::Altered { seq } => Err(format!("audit log ALTERED: entry seq {seq} does not match its hash")),
        Verdict::Removed { after_seq, next_seq } => Err(format!(
            "audit log entries REMOVED: after seq {after_seq} the next entry is seq {next_seq} (or its link is broken)"
        )),
        Verdict::Truncated { last_present, head } => Err(format!(
            "audit log TRUNCATED: entries after seq {last_present} up to seq {head} are missing"
        )),
        Verdict::Unkeyed { seq } => Err(format!(
            "audit log ALTERED: entry seq {seq} is not keyed, but the chain is keyed from seq {} on",
            start.seq()
        )),
        Verdict::UnknownKey { seq, key_id } => Err(format!(
            "audit log entry seq {seq} is keyed with {key_id}, which is not in the keyring \
             (retired too early, or another installation's keyring)"
        )),
        Verdict::HeadForged { why } => Err(format!(
            "audit log head ALTERED: where the chain ends is not the server's ({why}): newest entries may have been removed"
        )),
        Verdict::AnchorForged { why } => Err(format!(
            "audit log anchor ALTERED: where retention cut the chain is not the server's ({why}): oldest entries may have been removed"
        )),
        Verdict::AnchorTooNew { entry_at, retention_days } => Err(format!(
            "audit log cut too early: entries up to {} were purged, newer than the {retention_days}-day retention allows",
            Timestamp(entry_at).rfc3339()
        )),
    }
}
