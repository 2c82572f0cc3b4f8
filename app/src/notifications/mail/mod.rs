//! Email: the SMTP settings from the environment (`PREQSTATION_SMTP_*`;
//! email is off without `PREQSTATION_SMTP_HOST`), the message (`compose`),
//! the SMTP conversation (`smtp`) and the sender that drains the outbox
//! (`sender`).

pub mod compose;
pub mod sender;
pub mod smtp;

use std::time::Duration;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain connection upgraded with STARTTLS, required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only to a loopback host (a local relay, the tests).
    None,
}

/// The SMTP password: never in `Debug` output or a log.
#[derive(Clone)]
pub struct SmtpPassword(String);

impl SmtpPassword {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SmtpPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmtpPassword(…)")
    }
}

/// Where and how email is sent.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub credentials: Option<(String, SmtpPassword)>,
    /// The `From:` mailbox, e.g. `Preqstation <noreply@example.com>`.
    pub from: String,
    /// Emails sent per minute at most, by each instance.
    pub per_minute: u32,
    /// The first retry's delay after a send the server did not take; each
    /// next one doubles, up to an hour.
    pub retry_after: Duration,
    /// The connection's and each command's time limit.
    pub timeout: Duration,
}

/// A setting that cannot be used: the variable and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfigError {
    pub var: &'static str,
    pub message: String,
}

fn err(var: &'static str, message: impl Into<String>) -> MailConfigError {
    MailConfigError {
        var,
        message: message.into(),
    }
}

/// True for `localhost` and loopback addresses.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl MailConfig {
    /// Reads `PREQSTATION_SMTP_*` through `get` (blank values count as
    /// unset); `Ok(None)` without a host: email is off.
    pub fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, MailConfigError> {
        let Some(host) = get("PREQSTATION_SMTP_HOST").map(|h| h.trim().to_string()) else {
            return Ok(None);
        };
        let security = match get("PREQSTATION_SMTP_SECURITY")
            .map(|s| s.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("starttls") => Security::StartTls,
            Some("tls") => Security::Tls,
            Some("none") => Security::None,
            Some(other) => {
                return Err(err(
                    "PREQSTATION_SMTP_SECURITY",
                    format!("expected starttls, tls or none, got {other:?}"),
                ))
            }
        };
        if security == Security::None && !is_loopback_host(&host) {
            return Err(err(
                "PREQSTATION_SMTP_SECURITY",
                "none (plaintext) is allowed only to a loopback host such as 127.0.0.1; use starttls or tls",
            ));
        }
        let port = match get("PREQSTATION_SMTP_PORT") {
            Some(p) => p
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| {
                    err(
                        "PREQSTATION_SMTP_PORT",
                        format!("expected a port number, got {p:?}"),
                    )
                })?,
            None => match security {
                Security::StartTls => 587,
                Security::Tls => 465,
                Security::None => 25,
            },
        };
        let credentials =
            match (
                get("PREQSTATION_SMTP_USERNAME"),
                get("PREQSTATION_SMTP_PASSWORD"),
            ) {
                (None, None) => None,
                (Some(u), Some(p)) => Some((u.trim().to_string(), SmtpPassword(p))),
                _ => return Err(err(
                    "PREQSTATION_SMTP_USERNAME",
                    "set both PREQSTATION_SMTP_USERNAME and PREQSTATION_SMTP_PASSWORD, or neither",
                )),
            };
        if credentials.is_some() && security == Security::None {
            return Err(err(
                "PREQSTATION_SMTP_USERNAME",
                "credentials are never sent over plaintext: use starttls or tls",
            ));
        }
        let from = get("PREQSTATION_SMTP_FROM").ok_or_else(|| {
            err(
                "PREQSTATION_SMTP_FROM",
                "required with PREQSTATION_SMTP_HOST, e.g. Preqstation <noreply@example.com>",
            )
        })?;
        if from.trim().parse::<lettre::message::Mailbox>().is_err() {
            return Err(err(
                "PREQSTATION_SMTP_FROM",
                format!("expected a mailbox like Preqstation <noreply@example.com>, got {from:?}"),
            ));
        }
        let number = |var: &'static str, default: u64, max: u64| -> Result<u64, MailConfigError> {
            match get(var) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| {
                        err(
                            var,
                            format!("expected a whole number from 1 to {max}, got {v:?}"),
                        )
                    }),
            }
        };
        Ok(Some(Self {
            host,
            port,
            security,
            credentials,
            from: from.trim().to_string(),
            per_minute: number("PREQSTATION_SMTP_PER_MINUTE", 60, 60_000)? as u32,
            retry_after: Duration::from_secs(number("PREQSTATION_SMTP_RETRY_SECS", 30, 3600)?),
            timeout: Duration::from_secs(number("PREQSTATION_SMTP_TIMEOUT", 15, 300)?),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<Option<MailConfig>, MailConfigError> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        MailConfig::from_lookup(&|k: &str| map.get(k).cloned())
    }

    #[test]
    fn off_without_a_host_and_plaintext_only_to_loopback() {
        assert!(read(&[]).unwrap().is_none());
        let from = ("PREQSTATION_SMTP_FROM", "Preqstation <noreply@example.com>");
        let c = read(&[("PREQSTATION_SMTP_HOST", "smtp.example.com"), from])
            .unwrap()
            .unwrap();
        assert_eq!((c.security, c.port), (Security::StartTls, 587));
        let e = read(&[
            ("PREQSTATION_SMTP_HOST", "smtp.example.com"),
            ("PREQSTATION_SMTP_SECURITY", "none"),
            from,
        ])
        .unwrap_err();
        assert_eq!(e.var, "PREQSTATION_SMTP_SECURITY");
        let c = read(&[
            ("PREQSTATION_SMTP_HOST", "127.0.0.1"),
            ("PREQSTATION_SMTP_SECURITY", "none"),
            ("PREQSTATION_SMTP_PORT", "2525"),
            from,
        ])
        .unwrap()
        .unwrap();
        assert_eq!((c.security, c.port), (Security::None, 2525));
        let e = read(&[
            ("PREQSTATION_SMTP_HOST", "::1"),
            ("PREQSTATION_SMTP_SECURITY", "none"),
            ("PREQSTATION_SMTP_USERNAME", "u"),
            ("PREQSTATION_SMTP_PASSWORD", "hunter2"),
            from,
        ])
        .unwrap_err();
        assert!(e.message.contains("plaintext"));
        assert!(read(&[("PREQSTATION_SMTP_HOST", "smtp.example.com")]).is_err());
        let c = read(&[
            ("PREQSTATION_SMTP_HOST", "smtp.example.com"),
            ("PREQSTATION_SMTP_USERNAME", "u"),
            ("PREQSTATION_SMTP_PASSWORD", "hunter2"),
            from,
        ])
        .unwrap()
        .unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
