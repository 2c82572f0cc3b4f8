//! A local OIDC issuer for the federation tests: `end2end/federation/issuer.py`
//! (PyPI `pyjwt` and `cryptography`, keys made per run) on a loopback port,
//! serving GitHub-shaped (`/gh`, RS256), GitLab-shaped (`/gl`, ES256) and a
//! lying (`/liar`) issuer's discovery documents and JWKS, and minting ID
//! tokens with their real claim names on request.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
};

use serde_json::{json, Value};

pub struct Issuer {
    pub base: String,
    child: Child,
    http: reqwest::Client,
}

impl Drop for Issuer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The venv `make test` installs the Python test tools into.
pub fn python() -> String {
    let venv = std::env::var("PREQ_PY_VENV").unwrap_or_else(|_| {
        format!(
            "{}/.cache/preqstation-pyenv",
            std::env::var("HOME").unwrap()
        )
    });
    format!("{venv}/bin/python")
}

impl Issuer {
    /// Starts the issuer and waits for its port.
    pub fn start() -> Issuer {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../end2end/federation/issuer.py"
        );
        let mut child = Command::new(python())
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the OIDC issuer (make test installs pyjwt and cryptography)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = serde_json::from_str::<Value>(&line).expect("the issuer's port line")["port"]
            .as_u64()
            .unwrap();
        Issuer {
            base: format!("http://127.0.0.1:{port}"),
            child,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    /// The issuer URL of `name` (`gh`, `gl`, `liar`).
    pub fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.unwrap()
    }

    /// An ID token of issuer `name` for `aud`, with `claims` over the
    /// defaults and `opts` (`alg`, `key`, `kid`) merged into the request.
    pub async fn mint(&self, name: &str, aud: &str, claims: Value, opts: Value) -> String {
        let mut all = json!({ "aud": aud });
        for (k, v) in claims.as_object().unwrap() {
            all[k] = v.clone();
        }
        let mut body = json!({ "issuer": name, "claims": all });
        for (k, v) in opts.as_object().unwrap() {
            body[k] = v.clone();
        }
        self.post("/mint", body).await["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Publishes a new key for `name` in place of the old one.
    pub async fn rotate(&self, name: &str) -> String {
        self.post("/rotate", json!({ "issuer": name })).await["kid"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// How often `name`'s JWKS was fetched.
    pub async fn jwks_fetches(&self, name: &str) -> u64 {
        let stats: Value = self
            .http
            .get(format!("{}/stats", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stats["jwks_fetches"][name].as_u64().unwrap_or(0)
    }
}
