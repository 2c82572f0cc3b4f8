//! OAuth clients: dynamic registration (RFC 7591) and the redirect-URI
//! rules every client is held to.

use serde::{Deserialize, Serialize};

use super::OAuthError;
use crate::{config::Config, db::Db, types::Timestamp};

/// How a client is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientKind {
    /// Registered through `/oauth/register`: its name is unverified.
    Registered,
    /// Its id is the https URL of its metadata document.
    MetadataDocument,
}

impl ClientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Registered => "registered",
            ClientKind::MetadataDocument => "metadata_document",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub kind: ClientKind,
    pub name: String,
    pub redirect_uris: Vec<String>,
}

impl Client {
    /// Where the consent page says the client's details came from.
    pub fn source(&self) -> String {
        match self.kind {
            ClientKind::Registered => "registered dynamically, unverified".into(),
            ClientKind::MetadataDocument => url::Url::parse(&self.client_id)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| self.client_id.clone()),
        }
    }

    /// True when every redirect URI is on this machine (a CLI host, or
    /// someone pretending to be one).
    pub fn localhost_only(&self) -> bool {
        self.redirect_uris.iter().all(|u| is_loopback_redirect(u))
    }
}

/// The client named by `client_id`: a metadata document's URL, or a
/// registered one.
pub async fn resolve(
    db: &Db,
    config: &Config,
    client_id: &str,
    now: Timestamp,
) -> Result<Client, OAuthError> {
    if super::metadata_document::is_document_url(client_id) {
        return super::metadata_document::resolve(db, config, client_id, now).await;
    }
    find(db, client_id)
        .await
        .map_err(OAuthError::db)?
        .ok_or_else(|| OAuthError::new("invalid_client", "Unknown client_id."))
}

/// A registration request (the fields we read; others are ignored).
#[derive(Debug, Default, Deserialize)]
pub struct Registration {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    pub client_name: Option<String>,
    pub token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub response_types: Vec<String>,
}

/// The most redirect URIs a client may list, and the longest one.
const MAX_REDIRECT_URIS: usize = 10;
const MAX_URI_LEN: usize = 2000;
const MAX_NAME_LEN: usize = 100;

/// A client's self-chosen name as the consent page may show it: control
/// and Unicode format characters (bidirectional overrides such as U+202E,
/// which would reverse the page's text, zero-width characters) removed,
/// trimmed, at most 100 characters. `None` when nothing is left.
pub fn display_name(raw: &str) -> Option<String> {
    let name: String = raw
        .chars()
        .filter(|c| !c.is_control() && !is_format(*c))
        .collect::<String>()
        .trim()
        .chars()
        .take(MAX_NAME_LEN)
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Unicode general category Cf (format characters), Unicode 15.1.
fn is_format(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// `https` anywhere, or `http` on a loopback host; no fragment, no
/// wildcard, no credentials.
pub fn validate_redirect_uri(uri: &str) -> Result<(), String> {
    if uri.len() > MAX_URI_LEN {
        return Err("is too long".into());
    }
    if uri.contains('*') {
        return Err("must not contain wildcards".into());
    }
    let parsed = url::Url::parse(uri).map_err(|_| "is not an absolute URL".to_string())?;
    if parsed.fragment().is_some() || uri.contains('#') {
        return Err("must not have a fragment".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry credentials".into());
    }
    match parsed.scheme() {
        "https" if parsed.host_str().is_some() => Ok(()),
        "http" if is_loopback_host(parsed.host_str().unwrap_or_default()) => Ok(()),
        _ => Err("must be https, or http on 127.0.0.1, [::1] or localhost".into()),
    }
}

fn is_loopback_host(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "[::1]" | "localhost")
}

fn is_loopback_redirect(uri: &str) -> bool {
    url::Url::parse(uri)
        .map(|u| u.scheme() == "http" && is_loopback_host(u.host_str().unwrap_or_default()))
        .unwrap_or(false)
}

/// RFC 8252 7.3: a loopback-IP redirect URI matches whatever port the
/// client listens on; everything else must match exactly.
pub fn redirect_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    let (Ok(r), Ok(p)) = (url::Url::parse(registered), url::Url::parse(presented)) else {
        return false;
    };
    let loopback_ip = |u: &url::Url| {
        u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1") | Some("[::1]"))
    };
    loopback_ip(&r)
        && loopback_ip(&p)
        && r.host_str() == p.host_str()
        && r.path() == p.path()
        && r.query() == p.query()
        && p.fragment().is_none()
}

/// Validates and stores a registration. The client is public (no secret):
/// PKCE is what protects its codes.
pub async fn register(
    db: &Db,
    reg: Registration,
    ip: Option<&str>,
    now: Timestamp,
) -> Result<Client, OAuthError> {
    let bad = |m: String| OAuthError::new("invalid_client_metadata", m);
    if reg.redirect_uris.is_empty() {
        return Err(OAuthError::new(
            "invalid_redirect_uri",
            "redirect_uris must list at least one URI.",
        ));
    }
    if reg.redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(OAuthError::new(
            "invalid_redirect_uri",
            format!("At most {MAX_REDIRECT_URIS} redirect_uris."),
        ));
    }
    for uri in &reg.redirect_uris {
        validate_redirect_uri(uri).map_err(|m| {
            OAuthError::new("invalid_redirect_uri", format!("redirect_uri {uri:?} {m}."))
        })?;
    }
    match reg.token_endpoint_auth_method.as_deref() {
        None | Some("none") => {}
        Some(other) => {
            return Err(bad(format!(
                "token_endpoint_auth_method {other:?} is not supported; use \"none\" (a public client with PKCE)."
            )))
        }
    }
    if let Some(g) = reg
        .grant_types
        .iter()
        .find(|g| !matches!(g.as_str(), "authorization_code" | "refresh_token"))
    {
        return Err(bad(format!("grant type {g:?} is not supported.")));
    }
    if let Some(r) = reg.response_types.iter().find(|r| r.as_str() != "code") {
        return Err(bad(format!("response type {r:?} is not supported.")));
    }
    let name = reg
        .client_name
        .and_then(|n| display_name(&n))
        .unwrap_or_else(|| "Unnamed client".into());
    let client = Client {
        client_id: format!("dyn_{}", uuid::Uuid::new_v4().simple()),
        kind: ClientKind::Registered,
        name,
        redirect_uris: reg.redirect_uris,
    };
    sqlx::query(
        "INSERT INTO oauth_clients (client_id, kind, name, redirect_uris, created_at, registered_ip) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&client.client_id)
    .bind(client.kind.as_str())
    .bind(&client.name)
    .bind(serde_json::to_string(&client.redirect_uris).unwrap_or_default())
    .bind(now.millis())
    .bind(ip)
    .execute(db)
    .await
    .map_err(OAuthError::db)?;
    Ok(client)
}

/// A client as stored; `redirect_uris` is a JSON array.
#[derive(sqlx::FromRow)]
struct ClientRow {
    client_id: String,
    kind: String,
    name: String,
    redirect_uris: String,
}

/// A registered client by id.
pub async fn find(db: &Db, client_id: &str) -> Result<Option<Client>, sqlx::Error> {
    let row: Option<ClientRow> = sqlx::query_as(
        "SELECT client_id, kind, name, redirect_uris FROM oauth_clients WHERE client_id = $1",
    )
    .bind(client_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Client {
        client_id: r.client_id,
        kind: if r.kind == "metadata_document" {
            ClientKind::MetadataDocument
        } else {
            ClientKind::Registered
        },
        name: r.name,
        redirect_uris: serde_json::from_str(&r.redirect_uris).unwrap_or_default(),
    }))
}

/// Marks a client as in use, so its registration does not expire.
pub async fn touch(db: &Db, client_id: &str, now: Timestamp) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE oauth_clients SET last_used_at = $1 WHERE client_id = $2")
        .bind(now.millis())
        .bind(client_id)
        .execute(db)
        .await
        .map(|_| ())
}

/// Registrations never used for 24 hours, and those unused for 90 days,
/// are deleted by the sweep (a registration endpoint open to anyone must
/// not grow a table forever).
pub async fn sweep(db: &Db, now: Timestamp) -> Result<u64, sqlx::Error> {
    let day = 86_400_000;
    // Cached metadata documents a day past their cache lifetime.
    let documents = sqlx::query(
        "DELETE FROM oauth_clients WHERE kind = 'metadata_document' AND cache_until < $1 \
         AND client_id NOT IN (SELECT client_id FROM oauth_grants WHERE revoked_at IS NULL)",
    )
    .bind(now.millis() - day)
    .execute(db)
    .await?
    .rows_affected();
    sqlx::query(
        "DELETE FROM oauth_clients WHERE kind = 'registered' AND \
         ((last_used_at IS NULL AND created_at < $1) OR last_used_at < $2) \
         AND client_id NOT IN (SELECT client_id FROM oauth_grants WHERE revoked_at IS NULL)",
    )
    .bind(now.millis() - day)
    .bind(now.millis() - 90 * day)
    .execute(db)
    .await
    .map(|r| r.rows_affected() + documents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_control_and_format_characters() {
        // U+202E would make "Evil\u{202E}gnp.exe" read "Evilexe.png".
        assert_eq!(
            display_name("Evil\u{202E}gnp.exe").as_deref(),
            Some("Evilgnp.exe")
        );
        assert_eq!(
            display_name(" Zero\u{200B}width\u{2066}iso\u{2069}\u{FEFF} ").as_deref(),
            Some("Zerowidthiso")
        );
        assert_eq!(display_name("tab\there\n").as_deref(), Some("tabhere"));
        assert_eq!(display_name("\u{202E}\u{200F} ").as_deref(), None);
        assert_eq!(display_name(&"é".repeat(300)).unwrap().chars().count(), 100);
        // Letters of every script stay.
        assert_eq!(
            display_name("Клиент 客户端").as_deref(),
            Some("Клиент 客户端")
        );
    }

    #[test]
    fn redirect_uri_rules() {
        for ok in [
            "https://claude.ai/api/mcp/auth_callback",
            "http://127.0.0.1:33418/callback",
            "http://localhost:8080/cb",
            "http://[::1]:9000/cb",
        ] {
            assert!(validate_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com/cb",
            "https://example.com/cb#frag",
            "https://*.example.com/cb",
            "javascript:alert(1)",
            "/relative",
            "https://user:pw@example.com/cb",
            "ftp://example.com/cb",
        ] {
            assert!(validate_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_ports_may_differ_and_nothing_else() {
        assert!(redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:5000/cb"
        ));
        assert!(redirect_matches(
            "http://127.0.0.1:1/cb",
            "http://127.0.0.1:5000/cb"
        ));
        assert!(redirect_matches("http://[::1]:1/cb", "http://[::1]:2/cb"));
        assert!(!redirect_matches(
            "http://127.0.0.1:1/cb",
            "http://127.0.0.1:1/other"
        ));
        assert!(!redirect_matches(
            "http://localhost:1/cb",
            "http://localhost:2/cb"
        ));
        assert!(!redirect_matches(
            "https://a.example/cb",
            "https://a.example/cb/"
        ));
        assert!(!redirect_matches(
            "https://a.example:1/cb",
            "https://a.example:2/cb"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1:1/cb",
            "http://127.0.0.2:1/cb"
        ));
    }
}
