//! OAuth 2.1 authorization server for MCP hosts (docs/oauth.md).
//!
//! | module | what it owns |
//! |---|---|
//! | [`clients`] | dynamic registration and the redirect-URI rules |
//! | [`metadata_document`] | Client ID Metadata Documents, fetched behind an SSRF guard |
//! | [`flow`] | authorization requests, consent, codes, PKCE |
//! | [`grants`] | grants, issuing access and refresh tokens, bearer authentication |
//! | [`activity`] | one connected app's page: its grant, projects and calls |
//! | [`http`] | the endpoints: authorize, token, register, revoke, the consent form's answer |
//! | [`discovery`] | the metadata documents (RFC 9728, RFC 8414) and the challenges that name them |
//! | [`consent`] | the consent page's server functions (the page is `pages::consent`) |
//! | [`refresh`] | the refresh-token grant: rotation, reuse detection and the leeway |
//! | [`revocation`] | ending grants: by the owner, the client (RFC 7009), account changes, reuse |
//!
//! Access tokens work on the REST API and on `/mcp` exactly like API keys:
//! [`crate::bearer`] hands them to [`grants::authenticate`] by prefix, and
//! every route then sees the same [`crate::tokens::service::Authenticated`].

#[cfg(feature = "ssr")]
pub mod activity;
#[cfg(feature = "ssr")]
pub mod clients;
pub mod consent;
#[cfg(feature = "ssr")]
pub mod discovery;
#[cfg(feature = "ssr")]
pub mod flow;
#[cfg(feature = "ssr")]
pub mod grants;
#[cfg(feature = "ssr")]
pub mod http;
#[cfg(feature = "ssr")]
pub mod metadata_document;
#[cfg(feature = "ssr")]
pub mod refresh;
#[cfg(feature = "ssr")]
pub mod revocation;

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use sha2::{Digest, Sha256};

    use crate::{config::Config, tokens::Scope};

    /// An OAuth error answer: `{"error": …, "error_description": …}` with
    /// 400 (401 for `invalid_client`), per RFC 6749 5.2.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct OAuthError {
        pub error: &'static str,
        pub description: String,
    }

    impl OAuthError {
        pub fn new(error: &'static str, description: impl Into<String>) -> Self {
            Self {
                error,
                description: description.into(),
            }
        }

        pub fn db(e: sqlx::Error) -> Self {
            tracing::error!(error = %e, "OAuth: database error");
            Self::new("temporarily_unavailable", "The server is busy; try again.")
        }
    }

    /// The scopes a client may ask for: all but `tokens:rotate-self` (an
    /// OAuth grant renews itself with refresh tokens instead).
    pub fn grantable_scopes() -> Vec<Scope> {
        Scope::ALL
            .into_iter()
            .filter(|s| *s != Scope::TokensRotateSelf)
            .collect()
    }

    /// This server as an issuer: its public URL without a trailing slash.
    pub fn issuer(config: &Config) -> String {
        config.public_url.trim_end_matches('/').to_string()
    }

    /// The two resources tokens can be issued for (RFC 8707): the REST API
    /// (the public URL) and the MCP endpoint. A token for either works on
    /// both doors; a token for anything else (another public URL) on none.
    pub fn resources(config: &Config) -> [String; 2] {
        let base = issuer(config);
        [base.clone(), format!("{base}/mcp")]
    }

    /// RFC 7636 S256: BASE64URL(SHA-256(verifier)), compared in constant time.
    pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
        let well_formed = (43..=128).contains(&verifier.len())
            && verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        well_formed
            && crate::crypto::constant_time_eq(
                URL_SAFE_NO_PAD
                    .encode(Sha256::digest(verifier.as_bytes()))
                    .as_bytes(),
                challenge.as_bytes(),
            )
    }

    /// A challenge as S256 produces it: 43 base64url characters.
    pub fn valid_challenge(challenge: &str) -> bool {
        challenge.len() == 43
            && challenge
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn pkce_s256_matches_rfc_7636_appendix_b() {
            let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
            let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
            assert!(valid_challenge(challenge));
            assert!(pkce_matches(verifier, challenge));
            assert!(!pkce_matches(
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK",
                challenge
            ));
            assert!(!pkce_matches("short", challenge));
            assert!(!pkce_matches(
                verifier,
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
            ));
        }

        #[test]
        fn rotate_self_is_never_grantable() {
            assert!(!grantable_scopes().contains(&Scope::TokensRotateSelf));
            assert_eq!(grantable_scopes().len(), Scope::ALL.len() - 1);
        }
    }
}
