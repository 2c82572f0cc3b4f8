//! Runtime configuration, read once at start-up from environment variables.
//!
//! Every variable has a documented default (docs/configuration.md). A bad value
//! is a one-line [`ConfigError`] naming the variable, never a panic. The
//! server's keys are a keyring (`keys`): from `PREQSTATION_KEYS` or a file
//! generated on first run in the data directory (mode 0600), never from the
//! source tree or the database.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

/// Default idle timeout of a session (seed 001: `Max-Age=86400`).
pub const DEFAULT_SESSION_MAX_AGE_SECS: i64 = 86_400;
/// Sudo mode lasts 15 minutes, as GitHub's does.
pub const DEFAULT_SUDO_WINDOW_SECS: i64 = 15 * 60;
/// Default absolute lifetime of a session, however active it is.
pub const DEFAULT_SESSION_ABSOLUTE_SECS: i64 = 7 * 86_400;

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

impl ConfigError {
    fn new(var: &'static str, message: impl Into<String>) -> Self {
        Self {
            var,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Address the HTTP server binds to (`PREQSTATION_LISTEN`).
    pub listen: SocketAddr,
    /// Directory for the SQLite file and the generated key (`PREQSTATION_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `sqlite://...` (default) or `postgres://...` (`DATABASE_URL`).
    pub database_url: String,
    /// The URL people use to reach the app (`PREQSTATION_PUBLIC_URL`), without a trailing slash.
    pub public_url: String,
    /// Idle timeout and cookie Max-Age, seconds (`PREQSTATION_SESSION_MAX_AGE`).
    pub session_max_age_secs: i64,
    /// Absolute session lifetime, seconds (`PREQSTATION_SESSION_ABSOLUTE_LIFETIME`).
    pub session_absolute_secs: i64,
    /// How long a confirmed password or second factor unlocks sensitive
    /// actions (sudo mode), seconds (`PREQSTATION_SUDO_WINDOW`, default 900).
    pub sudo_window_secs: i64,
    /// Proxies whose forwarding header is believed
    /// (`PREQSTATION_TRUST_PROXY`: addresses or CIDRs; `true` = loopback),
    /// and that one header (`PREQSTATION_TRUST_PROXY_HEADER`, required with it).
    pub trust_proxy: crate::web::client_ip::TrustedProxies,
    /// Failed sign-ins allowed per account in the throttle window.
    pub login_max_failures_per_account: i64,
    /// Failed sign-ins allowed per client IP in the throttle window.
    pub login_max_failures_per_ip: i64,
    /// Length of the sign-in throttle window, seconds.
    pub login_window_secs: i64,
    /// API requests per minute per client IP (`PREQSTATION_API_RATE_PER_IP`).
    pub api_rate_per_ip: u32,
    /// API requests per minute per token (`PREQSTATION_API_RATE_PER_TOKEN`).
    pub api_rate_per_token: u32,
    /// `POST /api/tokens/verify` calls per minute per token.
    pub api_rate_verify: u32,
    /// Days audit entries are kept (`PREQSTATION_AUDIT_RETENTION_DAYS`).
    pub audit_retention_days: i64,
    /// The longest any request may take before it is answered 503
    /// (`PREQSTATION_REQUEST_TIMEOUT`, seconds, default 30).
    pub request_timeout: std::time::Duration,
    /// Audit events held in memory for the writer before requests wait
    /// (`PREQSTATION_AUDIT_QUEUE_CAPACITY`, default 10,000, at most 1,000,000).
    pub audit_queue_capacity: usize,
    /// Prefix of every API token (`PREQSTATION_TOKEN_PREFIX`, default `preq_`).
    pub token_prefix: String,
    /// Where `/metrics` (Prometheus) is served (`PREQSTATION_METRICS_LISTEN`,
    /// e.g. `127.0.0.1:9090`); unset: no metrics. Never the public listener.
    pub metrics_listen: Option<SocketAddr>,
    /// OAuth access-token lifetime (`PREQSTATION_OAUTH_ACCESS_TTL`, seconds, default 3600).
    pub oauth_access_ttl_secs: i64,
    /// OAuth refresh tokens end after this many idle days
    /// (`PREQSTATION_OAUTH_REFRESH_IDLE_DAYS`, default 30)…
    pub oauth_refresh_idle_days: i64,
    /// …and this many days after the grant (`PREQSTATION_OAUTH_REFRESH_MAX_DAYS`, default 90).
    pub oauth_refresh_max_days: i64,
    /// How long the same client may present a just-rotated refresh token
    /// again and get the same successor pair (`PREQSTATION_OAUTH_REFRESH_LEEWAY`,
    /// seconds, default 30, at most 300; 0 turns it off: every second
    /// presentation is reuse).
    pub oauth_refresh_leeway_secs: i64,
    /// Hosts whose Client ID Metadata Documents may be fetched even on a
    /// private address or over http (`PREQSTATION_OAUTH_METADATA_ALLOW_HOSTS`,
    /// comma-separated; default none).
    pub oauth_metadata_allow_hosts: Vec<String>,
    /// Hosts webhook endpoints may use even on a private address or over
    /// http (`PREQSTATION_WEBHOOK_ALLOW_HOSTS`, comma-separated; default
    /// none): a receiver inside the operator's network, or the tests'.
    pub webhook_allow_hosts: Vec<String>,
    /// OIDC issuers (CI federation) exempt from the outbound guard and
    /// allowed on http (`PREQSTATION_FEDERATION_ALLOW_HOSTS`, comma-separated;
    /// default none): an issuer inside the operator's network, or the tests'.
    pub federation_allow_hosts: Vec<String>,
    /// The server's keys (sessions, device cookies, audit chain, sealed
    /// secrets): `PREQSTATION_KEYS` or the data directory's `keyring` file.
    pub keys: crate::keys::Keyring,
    /// How often each instance runs the maintenance sweep (expiries,
    /// expiry warnings, retention); `PREQSTATION_SWEEP_INTERVAL`, seconds.
    pub sweep_interval: std::time::Duration,
    /// Email notifications over SMTP (`PREQSTATION_SMTP_*`); `None`: off.
    pub mail: Option<crate::notifications::mail::MailConfig>,
    /// What an operation costs a token with a usage limit
    /// (`PREQSTATION_USAGE_COSTS`); 1 unless listed.
    pub usage_costs: crate::tokens::limit::UsageCosts,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the
    /// process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let listen_raw = get("PREQSTATION_LISTEN").unwrap_or_else(|| "127.0.0.1:3000".into());
        let listen: SocketAddr = listen_raw.trim().parse().map_err(|_| {
            ConfigError::new(
                "PREQSTATION_LISTEN",
                format!("expected an address like 127.0.0.1:3000, got {listen_raw:?}"),
            )
        })?;
        let metrics_listen = match get("PREQSTATION_METRICS_LISTEN").map(|v| v.trim().to_string()) {
            None => None,
            Some(v) if v.is_empty() => None,
            Some(v) => Some(v.parse::<SocketAddr>().map_err(|_| {
                ConfigError::new(
                    "PREQSTATION_METRICS_LISTEN",
                    format!("expected an address like 127.0.0.1:9090, got {v:?}"),
                )
            })?),
        };
        if metrics_listen == Some(listen) {
            return Err(ConfigError::new(
                "PREQSTATION_METRICS_LISTEN",
                "must differ from PREQSTATION_LISTEN: metrics stay off the public listener",
            ));
        }

        let data_dir = PathBuf::from(get("PREQSTATION_DATA_DIR").unwrap_or_else(|| "data".into()));

        let database_url = match get("DATABASE_URL") {
            Some(url) => {
                let url = url.trim().to_string();
                if !(url.starts_with("sqlite:")
                    || url.starts_with("postgres://")
                    || url.starts_with("postgresql://"))
                {
                    return Err(ConfigError::new(
                        "DATABASE_URL",
                        "expected a sqlite://... or postgres://... URL",
                    ));
                }
                url
            }
            None => default_sqlite_url(&data_dir),
        };

        let public_url = get("PREQSTATION_PUBLIC_URL")
            .map(|u| u.trim().trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("http://{listen}"));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::new(
                "PREQSTATION_PUBLIC_URL",
                "expected an http:// or https:// URL",
            ));
        }

        let session_max_age_secs = parse_positive(
            &get,
            "PREQSTATION_SESSION_MAX_AGE",
            DEFAULT_SESSION_MAX_AGE_SECS,
        )?;
        let session_absolute_secs = parse_positive(
            &get,
            "PREQSTATION_SESSION_ABSOLUTE_LIFETIME",
            DEFAULT_SESSION_ABSOLUTE_SECS,
        )?;
        if session_absolute_secs < session_max_age_secs {
            return Err(ConfigError::new(
                "PREQSTATION_SESSION_ABSOLUTE_LIFETIME",
                "must be at least PREQSTATION_SESSION_MAX_AGE",
            ));
        }

        // The proxies and the one header they write: both or neither.
        let trust_proxy = crate::web::client_ip::TrustedProxies::parse(
            get(crate::web::client_ip::PROXIES_VAR)
                .as_deref()
                .unwrap_or(""),
            get(crate::web::client_ip::HEADER_VAR)
                .as_deref()
                .unwrap_or(""),
        )
        .map_err(|e| ConfigError::new(e.var, e.message))?;

        let token_prefix = get("PREQSTATION_TOKEN_PREFIX")
            .map(|p| p.trim().to_string())
            .unwrap_or_else(|| crate::tokens::format::DEFAULT_PREFIX.to_string());
        crate::tokens::format::validate_prefix(&token_prefix)
            .map_err(|m| ConfigError::new("PREQSTATION_TOKEN_PREFIX", m))?;

        let keys =
            crate::keys::load(&get, &data_dir).map_err(|p| ConfigError::new(p.var, p.message))?;

        Ok(Self {
            listen,
            data_dir,
            database_url,
            public_url,
            session_max_age_secs,
            session_absolute_secs,
            sudo_window_secs: parse_positive(
                &get,
                "PREQSTATION_SUDO_WINDOW",
                DEFAULT_SUDO_WINDOW_SECS,
            )?,
            trust_proxy,
            login_max_failures_per_account: parse_positive(
                &get,
                "PREQSTATION_LOGIN_MAX_FAILURES_PER_ACCOUNT",
                10,
            )?,
            login_max_failures_per_ip: parse_positive(
                &get,
                "PREQSTATION_LOGIN_MAX_FAILURES_PER_IP",
                50,
            )?,
            login_window_secs: parse_positive(&get, "PREQSTATION_LOGIN_WINDOW", 15 * 60)?,
            api_rate_per_ip: parse_positive(&get, "PREQSTATION_API_RATE_PER_IP", 600)?
                .min(u32::MAX as i64) as u32,
            api_rate_per_token: parse_positive(&get, "PREQSTATION_API_RATE_PER_TOKEN", 120)?
                .min(u32::MAX as i64) as u32,
            api_rate_verify: parse_positive(&get, "PREQSTATION_API_RATE_VERIFY", 10)?
                .min(u32::MAX as i64) as u32,
            audit_retention_days: parse_positive(&get, "PREQSTATION_AUDIT_RETENTION_DAYS", 365)?,
            request_timeout: std::time::Duration::from_secs(
                parse_positive(&get, "PREQSTATION_REQUEST_TIMEOUT", 30)?.unsigned_abs(),
            ),
            audit_queue_capacity: parse_positive(
                &get,
                "PREQSTATION_AUDIT_QUEUE_CAPACITY",
                crate::audit::queue::CAPACITY as i64,
            )?
            .min(1_000_000) as usize,
            token_prefix,
            metrics_listen,
            oauth_access_ttl_secs: parse_positive(&get, "PREQSTATION_OAUTH_ACCESS_TTL", 3600)?,
            oauth_refresh_idle_days: parse_positive(
                &get,
                "PREQSTATION_OAUTH_REFRESH_IDLE_DAYS",
                30,
            )?,
            oauth_refresh_max_days: parse_positive(&get, "PREQSTATION_OAUTH_REFRESH_MAX_DAYS", 90)?,
            oauth_refresh_leeway_secs: match get("PREQSTATION_OAUTH_REFRESH_LEEWAY").as_deref() {
                Some("0") => 0,
                _ => parse_positive(&get, "PREQSTATION_OAUTH_REFRESH_LEEWAY", 30)?.min(300),
            },
            oauth_metadata_allow_hosts: host_list(get("PREQSTATION_OAUTH_METADATA_ALLOW_HOSTS")),
            webhook_allow_hosts: host_list(get("PREQSTATION_WEBHOOK_ALLOW_HOSTS")),
            federation_allow_hosts: host_list(get("PREQSTATION_FEDERATION_ALLOW_HOSTS")),
            keys,
            sweep_interval: std::time::Duration::from_secs(
                parse_positive(&get, "PREQSTATION_SWEEP_INTERVAL", 60)?.clamp(1, 3600) as u64,
            ),
            mail: crate::notifications::mail::MailConfig::from_lookup(&get)
                .map_err(|e| ConfigError::new(e.var, e.message))?,
            usage_costs: crate::tokens::limit::UsageCosts::from_setting(
                &get("PREQSTATION_USAGE_COSTS").unwrap_or_default(),
            )
            .map_err(|m| ConfigError::new("PREQSTATION_USAGE_COSTS", m))?,
        })
    }

    /// A configuration for tests and benchmarks: given database URL, fresh
    /// random key. Fails only if the OS random number generator does.
    pub fn for_tests(database_url: String, data_dir: PathBuf) -> Result<Self, String> {
        Ok(Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            data_dir,
            database_url,
            public_url: "http://127.0.0.1:3000".into(),
            session_max_age_secs: DEFAULT_SESSION_MAX_AGE_SECS,
            session_absolute_secs: DEFAULT_SESSION_ABSOLUTE_SECS,
            sudo_window_secs: DEFAULT_SUDO_WINDOW_SECS,
            trust_proxy: Default::default(),
            login_max_failures_per_account: 10,
            login_max_failures_per_ip: 50,
            login_window_secs: 15 * 60,
            api_rate_per_ip: 600,
            api_rate_per_token: 120,
            api_rate_verify: 10,
            audit_retention_days: 365,
            request_timeout: std::time::Duration::from_secs(30),
            audit_queue_capacity: crate::audit::queue::CAPACITY,
            token_prefix: crate::tokens::format::DEFAULT_PREFIX.to_string(),
            metrics_listen: None,
            oauth_access_ttl_secs: 3600,
            oauth_refresh_idle_days: 30,
            oauth_refresh_max_days: 90,
            oauth_refresh_leeway_secs: 30,
            oauth_metadata_allow_hosts: Vec::new(),
            webhook_allow_hosts: Vec::new(),
            federation_allow_hosts: Vec::new(),
            keys: crate::keys::Keyring::generate()?,
            sweep_interval: std::time::Duration::from_secs(60),
            mail: None,
            usage_costs: Default::default(),
        })
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }

    /// True when browsers will drop our `__Host-`/`Secure` cookie: plain http
    /// on anything but a loopback host.
    pub fn cookie_will_be_dropped(&self) -> bool {
        let Some(rest) = self.public_url.strip_prefix("http://") else {
            return false;
        };
        let host = rest.split(['/', '?']).next().unwrap_or_default();
        let host = host
            .rsplit_once(':')
            .filter(|(h, p)| !h.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
            .map(|(h, _)| h)
            .unwrap_or(host);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        !(host == "localhost"
            || host.ends_with(".localhost")
            || host
                .parse::<std::net::IpAddr>()
                .map(|ip| ip.is_loopback())
                .unwrap_or(false))
    }

    pub fn public_is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The scheme://host[:port] of the public URL, compared with `Origin`.
    pub fn public_origin(&self) -> &str {
        let after_scheme = self.public_url.find("://").map(|i| i + 3).unwrap_or(0);
        match self.public_url[after_scheme..].find('/') {
            Some(i) => &self.public_url[..after_scheme + i],
            None => &self.public_url,
        }
    }
}

fn default_sqlite_url(data_dir: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("preqstation.sqlite").display()
    )
}

fn parse_positive(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: i64,
) -> Result<i64, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<i64>() {
            Ok(v) if v > 0 => Ok(v),
            _ => Err(ConfigError::new(
                var,
                format!("expected a positive whole number, got {raw:?}"),
            )),
        },
    }
}

/// A comma-separated list of host names, lower-cased, empty entries dropped.
fn host_list(value: Option<String>) -> Vec<String> {
    value
        .map(|v| {
            v.split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)], dir: &Path) -> Result<Config, ConfigError> {
        let mut map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.entry("PREQSTATION_DATA_DIR".into())
            .or_insert_with(|| dir.display().to_string());
        Config::from_lookup(|k| map.get(k).cloned())
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("preq-config-{name}-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn defaults_are_sqlite_in_the_data_dir_and_a_generated_private_key() {
        let dir = temp_dir("defaults");
        let c = cfg(&[], &dir).unwrap();
        assert!(c.database_url.starts_with("sqlite://"));
        assert!(c.database_url.contains("preqstation.sqlite"));
        assert_eq!(c.session_max_age_secs, 86_400);
        assert_eq!(c.keys.source(), crate::keys::KeySource::GeneratedFile);
        assert!(dir.join(crate::keys::FILE_NAME).exists());
        let again = cfg(&[], &dir).unwrap();
        assert_eq!(again.keys.source(), crate::keys::KeySource::ExistingFile);
        assert_eq!(again.keys.ids(), c.keys.ids());
    }

    #[test]
    fn bad_values_name_the_variable() {
        let dir = temp_dir("bad");
        for (var, value) in [
            ("PREQSTATION_LISTEN", "not-an-address"),
            ("DATABASE_URL", "mysql://x"),
            ("PREQSTATION_SESSION_MAX_AGE", "-5"),
            ("PREQSTATION_SESSION_KEY", "short"),
            ("PREQSTATION_TRUST_PROXY", "maybe"),
            ("PREQSTATION_TRUST_PROXY_HEADER", "x-forwarded-host"),
        ] {
            let err = cfg(&[(var, value)], &dir).unwrap_err();
            assert_eq!(err.var, var);
            assert!(err.to_string().contains(var));
        }
    }

    #[test]
    fn trusted_proxies_need_the_header_they_write() {
        let dir = temp_dir("proxy");
        let err = cfg(&[("PREQSTATION_TRUST_PROXY", "10.0.0.1")], &dir).unwrap_err();
        assert_eq!(err.var, "PREQSTATION_TRUST_PROXY_HEADER");
        assert!(err
            .to_string()
            .contains("required when PREQSTATION_TRUST_PROXY is set"));
        let c = cfg(
            &[
                ("PREQSTATION_TRUST_PROXY", "10.0.0.1"),
                ("PREQSTATION_TRUST_PROXY_HEADER", "X-Forwarded-For"),
            ],
            &dir,
        )
        .unwrap();
        assert_eq!(
            c.trust_proxy.header(),
            Some(crate::web::client_ip::ForwardingHeader::XForwardedFor)
        );
        // Nothing trusted: no header needed.
        assert!(cfg(&[], &dir).unwrap().trust_proxy.is_empty());
    }

    #[test]
    fn plain_http_off_loopback_is_flagged() {
        let dir = temp_dir("http");
        let c = cfg(&[("PREQSTATION_PUBLIC_URL", "http://example.com")], &dir).unwrap();
        assert!(c.cookie_will_be_dropped());
        let c = cfg(
            &[("PREQSTATION_PUBLIC_URL", "http://localhost:8080/")],
            &dir,
        )
        .unwrap();
        assert!(!c.cookie_will_be_dropped());
        assert_eq!(c.public_origin(), "http://localhost:8080");
        let c = cfg(
            &[("PREQSTATION_PUBLIC_URL", "https://tokens.example.com")],
            &dir,
        )
        .unwrap();
        assert!(!c.cookie_will_be_dropped());
        assert!(c.public_is_https());
    }
}
