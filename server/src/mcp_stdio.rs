//! `preqstation mcp`: the stdio MCP server of seed 000's config shape. It
//! reads `PREQSTATION_API_URL` and `PREQSTATION_TOKEN`, checks both before
//! serving (a missing or malformed variable, an unreachable server or a
//! refused token is one line on stderr and a non-zero exit within seconds),
//! then serves the same tools as `/mcp` by sending each call to its REST
//! route over HTTP. Nothing but MCP messages goes to stdout; the token never
//! appears in any output.

use std::time::Duration;

use app::{
    mcp::{tools::RestCall, Backend, McpServer, RestReply},
    tokens::Scope,
};
use rmcp::{service::RequestContext, RoleServer, ServiceExt};
use serde_json::Value;

/// A secret that never prints.
pub(crate) struct Token(pub(crate) String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

struct Remote {
    client: reqwest::Client,
    base: String,
    token: Token,
    scopes: Vec<Scope>,
    /// A task-scoped token: only its task's tools are listed.
    task_bound: bool,
}

pub(crate) fn required(name: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(format!(
            "{name} is not set (see docs/mcp.md for the MCP server config)"
        )),
    }
}

/// The API's base URL: https (plain http only to this machine, so the token
/// never crosses a network in clear text), no path, query or credentials.
pub(crate) fn api_url(raw: &str) -> Result<String, String> {
    let url =
        reqwest::Url::parse(raw).map_err(|e| format!("PREQSTATION_API_URL is not a URL ({e})"))?;
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" if url.host().is_some() => {}
        "http" if loopback => {}
        "http" => {
            return Err(
                "PREQSTATION_API_URL must be https:// (plain http only for localhost): \
                 the token would cross the network in clear text"
                    .into(),
            )
        }
        _ => return Err("PREQSTATION_API_URL must be an https:// URL".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("PREQSTATION_API_URL must not carry credentials".into());
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(
            "PREQSTATION_API_URL must be the server's base URL (no path, query or fragment)".into(),
        );
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// True when `url` names this machine.
pub(crate) fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Largest answer read from the API.
const MAX_REPLY_BYTES: usize = 4 * 1024 * 1024;

/// Checks the token's shape and checksum offline, whatever its prefix.
pub(crate) fn token(raw: &str) -> Result<Token, String> {
    let body = app::tokens::format::RANDOM_LEN + app::tokens::format::CHECKSUM_LEN;
    let malformed = || {
        "PREQSTATION_TOKEN is not a Preqstation API token (wrong length, characters or checksum; copy it again from Settings > API Keys)".to_string()
    };
    if raw.len() <= body || !raw.is_char_boundary(raw.len() - body) {
        return Err(malformed());
    }
    let prefix = &raw[..raw.len() - body];
    // A task token's (`preq_tt_`) is the deployment prefix and its kind.
    let deployment = prefix.strip_suffix("tt_").unwrap_or(prefix);
    app::tokens::format::validate_prefix(deployment).map_err(|_| malformed())?;
    app::tokens::format::parse(prefix, raw).map_err(|_| malformed())?;
    Ok(Token(raw.to_string()))
}

impl Remote {
    async fn request(&self, call: &RestCall) -> Result<RestReply, reqwest::Error> {
        let mut req = self
            .client
            .request(call.method.clone(), format!("{}{}", self.base, call.uri))
            .bearer_auth(&self.token.0);
        if let Some(key) = &call.idempotency_key {
            req = req.header("idempotency-key", key);
        }
        if let Some(body) = &call.body {
            req = req.json(body);
        }
        let mut res = req.send().await?;
        let status = res.status().as_u16();
        let mut bytes = Vec::new();
        while let Some(chunk) = res.chunk().await? {
            if bytes.len() + chunk.len() > MAX_REPLY_BYTES {
                return Ok(RestReply {
                    status: 502,
                    body: serde_json::json!({"error": {"code": "BAD_GATEWAY",
                        "message": "The answer was too large; ask for a smaller page (limit)."}}),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(RestReply {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        })
    }
}

impl Backend for Remote {
    fn grant(&self, _ctx: &RequestContext<RoleServer>) -> Option<(Vec<Scope>, bool)> {
        Some((self.scopes.clone(), self.task_bound))
    }

    async fn send(&self, call: RestCall, _ctx: &RequestContext<RoleServer>) -> RestReply {
        match self.request(&call).await {
            Ok(reply) => reply,
            Err(e) => {
                tracing::warn!(error = %e.without_url(), "Preqstation API unreachable");
                RestReply {
                    status: 503,
                    body: serde_json::json!({"error": {"code": "SERVICE_UNAVAILABLE",
                        "message": format!("Cannot reach Preqstation at {}.", self.base)}}),
                }
            }
        }
    }
}

pub async fn run() -> Result<(), String> {
    let base = api_url(&required("PREQSTATION_API_URL")?)?;
    let token = token(&required("PREQSTATION_TOKEN")?)?;
    let mut client = reqwest::Client::builder();
    // This machine is never reached through a proxy: an http:// loopback
    // URL through an HTTP_PROXY would send the token in clear text to the
    // proxy. Remote (https) URLs keep honouring HTTPS_PROXY and NO_PROXY,
    // which corporate egress needs.
    if reqwest::Url::parse(&base).is_ok_and(|u| is_loopback(&u)) {
        client = client.no_proxy();
    }
    let client = client
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("preqstation-mcp/", env!("CARGO_PKG_VERSION")))
        // The API never redirects; following one could carry the token off.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
    let mut remote = Remote {
        client,
        base,
        token,
        scopes: vec![],
        task_bound: false,
    };

    // The token's scopes decide the tool list; asking for them also proves
    // the URL and the token work before any client waits on us.
    let probe = RestCall {
        method: http::Method::GET,
        uri: "/api/tokens/self".into(),
        body: None,
        idempotency_key: None,
    };
    let reply = tokio::time::timeout(Duration::from_secs(10), remote.request(&probe))
        .await
        .map_err(|_| format!("{} did not answer within 10 s", remote.base))?
        .map_err(|e| format!("cannot reach {}: {}", remote.base, e.without_url()))?;
    match reply.status {
        200 => {}
        401 => {
            return Err(format!(
                "the token was refused: {}",
                reply.body["error"]["message"]
                    .as_str()
                    .unwrap_or("unauthorized")
            ))
        }
        s => {
            return Err(format!(
                "{} answered {s} to /api/tokens/self; is PREQSTATION_API_URL a Preqstation server?",
                remote.base
            ))
        }
    }
    let Some(scopes) = reply.body["scopes"].as_array() else {
        return Err(format!(
            "{} answered /api/tokens/self without a token description; is PREQSTATION_API_URL a Preqstation server?",
            remote.base
        ));
    };
    remote.scopes = scopes
        .iter()
        .filter_map(|s| serde_json::from_value(s.clone()).ok())
        .collect();
    remote.task_bound = reply.body["task"].is_object();
    tracing::info!(
        scopes = remote.scopes.len(),
        task_bound = remote.task_bound,
        "serving MCP over stdio"
    );

    let running = McpServer::new(remote)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| format!("MCP session failed to start: {e}"))?;
    running
        .waiting()
        .await
        .map_err(|e| format!("MCP session ended with an error: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_checked_before_serving() {
        assert!(api_url("ftp://x").is_err());
        assert!(api_url("not a url").is_err());
        assert!(api_url("https://u:p@x.example").is_err());
        assert!(
            api_url("http://tokens.example.com").is_err(),
            "no cleartext token off this machine"
        );
        assert!(api_url("https://x.example/api").is_err());
        assert!(api_url("https://x.example/#").is_err());
        assert!(api_url("https://x.example/?a=b").is_err());
        assert_eq!(api_url("https://x.example/").unwrap(), "https://x.example");
        assert_eq!(
            api_url("http://localhost:3000").unwrap(),
            "http://localhost:3000"
        );
        assert_eq!(
            api_url("http://127.0.0.1:3000/").unwrap(),
            "http://127.0.0.1:3000"
        );
        let good = app::tokens::format::generate("preq_").unwrap();
        assert!(token(good.expose()).is_ok());
        let mut bad = good.expose().to_string();
        bad.pop();
        bad.push(if good.expose().ends_with('A') {
            'B'
        } else {
            'A'
        });
        assert!(token(&bad).is_err());
        assert!(token("preq_short").is_err());
        assert_eq!(
            format!("{:?}", token(good.expose()).unwrap()),
            "Token(<redacted>)"
        );
    }
}
