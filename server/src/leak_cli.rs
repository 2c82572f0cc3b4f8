//! `preqstation leak-keys …` and `preqstation leak-report …`: the keys a
//! leaked-token report must be signed with (on the server, audited with
//! actor kind `cli`), and a small uploader that turns gitleaks or
//! trufflehog JSON output into a signed report (anywhere: a CI job, a
//! scanning host). docs/tokens.md, "Leaked-token reports".

use std::{io::Write, process::ExitCode};

use app::{config::Config, leaks, types::Timestamp};
use base64::{engine::general_purpose::STANDARD, Engine};
use p256::{
    ecdsa::{signature::Signer, Signature, SigningKey},
    pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding},
};

const KEYS_USAGE: &str = "\
usage: preqstation leak-keys add KEY_ID PUBLIC_KEY.pem
       preqstation leak-keys list [--json]
       preqstation leak-keys remove KEY_ID";
const REPORT_USAGE: &str = "\
usage: preqstation leak-report keygen PRIVATE_KEY.pem
       preqstation leak-report --url SERVER_URL --key-id KEY_ID --key PRIVATE_KEY.pem REPORT.json...
  (REPORT: gitleaks' JSON report, or trufflehog's JSON lines; tokens with the
   PREQSTATION_TOKEN_PREFIX prefix, default preq_, are sent)";

fn usage(text: &str, why: &str) -> ExitCode {
    eprintln!("preqstation: {why}\n{text}");
    ExitCode::from(2)
}

fn failed(why: impl std::fmt::Display) -> ExitCode {
    eprintln!("preqstation: {why}");
    ExitCode::FAILURE
}

/// `preqstation leak-keys …`
pub async fn keys(args: &[String]) -> ExitCode {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let db = match crate::open_database(&config).await {
        Ok(db) => db,
        Err(e) => return failed(e),
    };
    let now = Timestamp::now();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["add", id, file] => {
            let pem = match std::fs::read_to_string(file) {
                Ok(p) => p,
                Err(e) => return failed(format!("cannot read {file}: {e}")),
            };
            match leaks::keys::add(&db, &config, id, &pem, now).await {
                Ok(()) => {
                    println!("key {id} registered: reports signed with it are accepted");
                    ExitCode::SUCCESS
                }
                Err(leaks::keys::KeyError::Invalid(e)) => usage(KEYS_USAGE, &e),
                Err(e) => failed(e),
            }
        }
        ["remove", id] => match leaks::keys::remove(&db, &config, id, now).await {
            Ok(true) => {
                println!("key {id} removed");
                ExitCode::SUCCESS
            }
            Ok(false) => {
                eprintln!("preqstation: no key {id}");
                ExitCode::from(3)
            }
            Err(e) => failed(e),
        },
        ["list", rest @ ..] if rest.iter().all(|a| *a == "--json") => {
            let keys = match leaks::keys::list(&db).await {
                Ok(k) => k,
                Err(e) => return failed(e),
            };
            if rest.is_empty() {
                for k in &keys {
                    println!(
                        "{}\tadded {}",
                        k.key_id,
                        Timestamp(k.created_at).display_utc()
                    );
                }
                if keys.is_empty() {
                    println!("no keys: leaked-token reports are refused (401)");
                }
            } else {
                println!("{}", serde_json::json!(keys));
            }
            ExitCode::SUCCESS
        }
        _ => usage(KEYS_USAGE, "unknown or incomplete leak-keys command"),
    }
}

/// `preqstation leak-report …`
pub async fn report(args: &[String]) -> ExitCode {
    if let ["keygen", file] = args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        return match keygen(file) {
            Ok(public) => {
                print!("{public}");
                ExitCode::SUCCESS
            }
            Err(e) => failed(e),
        };
    }
    let (mut url, mut key_id, mut key, mut files) = (None, None, None, Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--url" => url = it.next(),
            "--key-id" => key_id = it.next(),
            "--key" => key = it.next(),
            f if !f.starts_with("--") => files.push(f.to_string()),
            other => return usage(REPORT_USAGE, &format!("unknown option {other}")),
        }
    }
    let (Some(url), Some(key_id), Some(key), false) = (url, key_id, key, files.is_empty()) else {
        return usage(
            REPORT_USAGE,
            "--url, --key-id, --key and at least one report file are needed",
        );
    };
    let prefix = std::env::var("PREQSTATION_TOKEN_PREFIX")
        .unwrap_or_else(|_| app::tokens::format::DEFAULT_PREFIX.into());
    if let Err(e) = app::tokens::format::validate_prefix(&prefix) {
        return usage(REPORT_USAGE, &format!("PREQSTATION_TOKEN_PREFIX {e}"));
    }
    match upload(url, key_id, key, &prefix, &files).await {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => failed(e),
    }
}

/// Writes a new P-256 private key (PKCS#8 PEM, owner-only) to `file`;
/// returns its public key (PEM).
fn keygen(file: &str) -> Result<String, String> {
    let signing = loop {
        let bytes = app::crypto::random_bytes::<32>().map_err(|e| e.to_string())?;
        if let Ok(k) = SigningKey::from_slice(&bytes) {
            break k;
        }
    };
    let private = signing
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| e.to_string())?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options
        .open(file)
        .map_err(|e| format!("cannot create {file} (it must not exist yet): {e}"))?;
    out.write_all(private.as_bytes())
        .map_err(|e| e.to_string())?;
    signing
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| e.to_string())
}

/// One finding a scanner reported.
#[derive(Debug, PartialEq, Eq)]
pub struct Finding {
    pub token: String,
    pub url: String,
    pub source: &'static str,
}

/// The findings in a gitleaks JSON report (an array) or trufflehog JSON
/// lines, whose secret has the deployment's `prefix`.
pub fn findings(text: &str, prefix: &str) -> Result<Vec<Finding>, String> {
    let mut out = Vec::new();
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let items: Vec<serde_json::Value> = serde_json::from_str(trimmed)
            .map_err(|e| format!("not a gitleaks JSON report: {e}"))?;
        for f in items {
            let secret = f["Secret"].as_str().unwrap_or_default();
            let file = f["File"].as_str().unwrap_or_default();
            let line = f["StartLine"].as_i64().unwrap_or_default();
            let url = match (f["Link"].as_str(), f["Commit"].as_str()) {
                (Some(link), _) if !link.is_empty() => link.to_string(),
                (_, Some(commit)) if !commit.is_empty() => {
                    format!("{file}:{line} (commit {commit})")
                }
                _ => format!("{file}:{line}"),
            };
            out.push(Finding {
                token: secret.to_string(),
                url,
                source: "gitleaks",
            });
        }
    } else {
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let f: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| format!("line {}: not a trufflehog JSON line: {e}", n + 1))?;
            let secret = f["Raw"].as_str().unwrap_or_default();
            let data = &f["SourceMetadata"]["Data"];
            let url = if let Some(git) = data.get("Git") {
                let (repo, file, line, commit) = (
                    git["repository"].as_str().unwrap_or_default(),
                    git["file"].as_str().unwrap_or_default(),
                    git["line"].as_i64().unwrap_or_default(),
                    git["commit"].as_str().unwrap_or_default(),
                );
                let base = repo.strip_suffix(".git").unwrap_or(repo);
                if base.starts_with("https://") && !commit.is_empty() {
                    format!("{base}/blob/{commit}/{file}#L{line}")
                } else {
                    format!("{repo} {file}:{line} (commit {commit})")
                }
            } else if let Some(fs) = data.get("Filesystem") {
                format!(
                    "{}:{}",
                    fs["file"].as_str().unwrap_or_default(),
                    fs["line"].as_i64().unwrap_or_default()
                )
            } else {
                String::new()
            };
            out.push(Finding {
                token: secret.to_string(),
                url,
                source: "trufflehog",
            });
        }
    }
    out.retain(|f| f.token.starts_with(prefix));
    Ok(out)
}

fn token_type(prefix: &str, token: &str) -> &'static str {
    match token.strip_prefix(prefix) {
        Some(rest) if rest.starts_with("tt_") => "preqstation_task_token",
        Some(rest) if rest.starts_with("oat_") || rest.starts_with("ort_") => {
            "preqstation_oauth_token"
        }
        _ => "preqstation_api_key",
    }
}

async fn upload(
    url: &str,
    key_id: &str,
    key: &str,
    prefix: &str,
    files: &[String],
) -> Result<String, String> {
    let pem = std::fs::read_to_string(key).map_err(|e| format!("cannot read {key}: {e}"))?;
    let signing = SigningKey::from_pkcs8_pem(&pem).map_err(|_| {
        format!("{key} is not a P-256 private key in PKCS#8 PEM (preqstation leak-report keygen)")
    })?;
    let mut reports = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
        for f in findings(&text, prefix).map_err(|e| format!("{file}: {e}"))? {
            if seen.insert(f.token.clone()) {
                reports.push(serde_json::json!({
                    "token": f.token,
                    "type": token_type(prefix, &f.token),
                    "url": f.url,
                    "source": f.source,
                }));
            }
        }
    }
    if reports.is_empty() {
        return Ok("no Preqstation tokens in the reports: nothing sent".into());
    }
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let mut sent = 0;
    let mut positives = 0;
    for chunk in reports.chunks(leaks::MAX_REPORTS) {
        let body = serde_json::to_vec(chunk).map_err(|e| e.to_string())?;
        let signature: Signature = signing.sign(&body);
        let endpoint = format!("{}/api/secret-scanning/report", url.trim_end_matches('/'));
        let res = client
            .post(&endpoint)
            .header("content-type", "application/json")
            .header("github-public-key-identifier", key_id)
            .header(
                "github-public-key-signature",
                STANDARD.encode(signature.to_der().as_bytes()),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| format!("cannot reach {endpoint}: {e}"))?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!("the server answered {status}: {text}"));
        }
        let feedback: Vec<serde_json::Value> =
            serde_json::from_str(&text).map_err(|_| format!("unexpected answer: {text}"))?;
        sent += chunk.len();
        positives += feedback
            .iter()
            .filter(|f| f["label"] == "true_positive")
            .count();
    }
    Ok(format!(
        "reported {sent} token(s): {positives} working and now revoked, {} unknown or already ended",
        sent - positives
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitleaks_and_trufflehog_findings_are_read_and_filtered() {
        let gitleaks = r#"[{"RuleID":"generic-api-key","File":"a.env","StartLine":3,"Commit":"abc","Secret":"preq_x1","Link":""},
            {"RuleID":"aws","File":"b","StartLine":1,"Commit":"","Secret":"AKIA..."}]"#;
        let f = findings(gitleaks, "preq_").unwrap();
        assert_eq!(
            f,
            [Finding {
                token: "preq_x1".into(),
                url: "a.env:3 (commit abc)".into(),
                source: "gitleaks"
            }]
        );
        let truffle = concat!(
            r#"{"SourceMetadata":{"Data":{"Git":{"commit":"c1","file":"x.py","repository":"https://github.com/o/r.git","line":7}}},"DetectorName":"Generic","Raw":"preq_y2"}"#,
            "\n",
            r#"{"SourceMetadata":{"Data":{"Filesystem":{"file":"/tmp/z","line":2}}},"Raw":"preq_tt_z3"}"#,
            "\n"
        );
        let f = findings(truffle, "preq_").unwrap();
        assert_eq!(f[0].url, "https://github.com/o/r/blob/c1/x.py#L7");
        assert_eq!(f[1].url, "/tmp/z:2");
        let bare = r#"{"SourceMetadata":{"Data":{"Git":{"commit":"c2","file":"y.sh","repository":"https://gitlab.example.com/o/r","line":1}}},"Raw":"preq_w4"}"#;
        assert_eq!(
            findings(bare, "preq_").unwrap()[0].url,
            "https://gitlab.example.com/o/r/blob/c2/y.sh#L1"
        );
        assert_eq!(token_type("preq_", "preq_tt_z3"), "preqstation_task_token");
        assert_eq!(token_type("preq_", "preq_oat_1"), "preqstation_oauth_token");
        assert!(findings("{not json", "preq_").is_err());
    }
}
