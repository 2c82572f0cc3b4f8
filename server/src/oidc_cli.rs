//! `preqstation tokens exchange --oidc [--audience URL] [--scope "..."]
//! [--ttl 15m] [--token-env NAME]`: a CI job trades its platform's OIDC ID
//! token for a CI token (docs/federation.md) at
//! `PREQSTATION_API_URL/oauth/token` (RFC 8693, `subject_token_type`
//! `id_token`) and prints the `export` lines:
//!
//! ```sh
//! eval "$(preqstation tokens exchange --oidc --audience "$PREQSTATION_AUDIENCE")"
//! ```
//!
//! The ID token comes from GitHub Actions' runtime when
//! `ACTIONS_ID_TOKEN_REQUEST_URL` and `ACTIONS_ID_TOKEN_REQUEST_TOKEN` are
//! set (requested for the audience: `--audience` or `PREQSTATION_AUDIENCE`),
//! else from the variable GitLab's `id_tokens:` filled
//! (`PREQSTATION_ID_TOKEN`, or `--token-env NAME`). Neither token is ever
//! printed but the issued one, on the `export` line.

use crate::{
    exchange_cli::{client, flag, post, seconds},
    mcp_stdio::{api_url, is_loopback, required, Token},
};

const USAGE: &str = "usage: preqstation tokens exchange --oidc [--audience URL] [--scope \"tasks:read\"] [--ttl 15m] [--token-env NAME]\n\
reads PREQSTATION_API_URL; the ID token from GitHub Actions (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN, for --audience or PREQSTATION_AUDIENCE)\n\
or from PREQSTATION_ID_TOKEN (GitLab CI: name it in id_tokens:)";

const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";

/// GitHub Actions' ID-token request URL with `audience` added: https (or
/// this machine), since the runtime's bearer token goes with it.
fn request_url(base: &str, audience: &str) -> Result<String, String> {
    let mut url = reqwest::Url::parse(base)
        .map_err(|_| "ACTIONS_ID_TOKEN_REQUEST_URL is not a URL".to_string())?;
    if url.scheme() != "https" && !(url.scheme() == "http" && is_loopback(&url)) {
        return Err(
            "ACTIONS_ID_TOKEN_REQUEST_URL must be https: the runtime token goes with it".into(),
        );
    }
    url.query_pairs_mut().append_pair("audience", audience);
    Ok(url.into())
}

/// Asks the GitHub Actions runtime for an ID token for `audience`.
async fn from_github(request: &str, runtime: &Token, audience: &str) -> Result<Token, String> {
    let url = request_url(request, audience)?;
    let reply = client(&url)?
        .get(&url)
        .header("authorization", format!("bearer {}", runtime.0))
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot reach the GitHub Actions token service: {}",
                e.without_url()
            )
        })?;
    let status = reply.status();
    if !status.is_success() {
        return Err(format!(
            "the GitHub Actions token service answered {status} (does the job have `permissions: id-token: write`?)"
        ));
    }
    let body: serde_json::Value = reply
        .json()
        .await
        .map_err(|_| "the GitHub Actions token service did not answer with JSON".to_string())?;
    body["value"]
        .as_str()
        .filter(|v| !v.is_empty())
        .map(|v| Token(v.to_string()))
        .ok_or_else(|| "the GitHub Actions token service sent no token".to_string())
}

pub async fn run(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    let base = api_url(&required("PREQSTATION_API_URL")?)?;
    let audience = flag(args, "--audience")
        .map(str::to_string)
        .or_else(|| std::env::var("PREQSTATION_AUDIENCE").ok())
        .filter(|a| !a.trim().is_empty());
    let github = (
        std::env::var("ACTIONS_ID_TOKEN_REQUEST_URL").ok(),
        std::env::var("ACTIONS_ID_TOKEN_REQUEST_TOKEN").ok(),
    );
    let id_token = match github {
        (Some(request), Some(runtime)) if !request.is_empty() => {
            let audience = audience.ok_or_else(|| {
                format!(
                    "--audience (or PREQSTATION_AUDIENCE) is required in GitHub Actions: the trust rule's audience, \
                     {base}/federation/<rule id> as Settings > Federation shows it\n{USAGE}"
                )
            })?;
            from_github(&request, &Token(runtime), &audience).await?
        }
        _ => {
            let var = flag(args, "--token-env").unwrap_or("PREQSTATION_ID_TOKEN");
            if audience.is_some() {
                eprintln!(
                    "preqstation: --audience is ignored: the ID token in {var} carries its own"
                );
            }
            Token(required(var).map_err(|_| {
                format!(
                    "no ID token: {var} is not set (GitLab CI: name it in `id_tokens:`), \
                     and this is not a GitHub Actions job with `permissions: id-token: write`\n{USAGE}"
                )
            })?)
        }
    };
    let mut form: Vec<(&str, String)> = vec![
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange".into(),
        ),
        ("subject_token", id_token.0.clone()),
        ("subject_token_type", ID_TOKEN_TYPE.into()),
    ];
    if let Some(ttl) = flag(args, "--ttl") {
        form.push(("expires_in", seconds(ttl)?.to_string()));
    }
    if let Some(scope) = flag(args, "--scope") {
        form.push(("scope", scope.into()));
    }
    let (issued, body) = post(&base, &form).await?;
    println!("export PREQSTATION_TOKEN={issued}");
    println!("export PREQSTATION_API_URL={base}");
    println!(
        "# CI token, scopes {}, expires in {} s",
        body["scope"].as_str().unwrap_or_default(),
        body["expires_in"].as_i64().unwrap_or_default()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audience_joins_the_request_url() {
        assert_eq!(
            request_url(
                "https://x.example/t?api-version=2.0",
                "https://p.example/federation/1"
            )
            .unwrap(),
            "https://x.example/t?api-version=2.0&audience=https%3A%2F%2Fp.example%2Ffederation%2F1"
        );
        assert_eq!(
            request_url("https://x.example/t", "a b").unwrap(),
            "https://x.example/t?audience=a+b"
        );
        assert!(request_url("not a url", "a").is_err());
        assert!(request_url("http://runtime.example/t", "a").is_err());
        assert!(request_url("http://127.0.0.1:9/t", "a").is_ok());
    }
}
