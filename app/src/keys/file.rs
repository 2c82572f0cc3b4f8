//! Loading and storing the keyring: the data directory's `keyring` file,
//! `PREQSTATION_KEYS`, or the older single key (`PREQSTATION_SESSION_KEY`,
//! `session.key`), which becomes key `k0`.
//!
//! File format, one item per line, newest key last:
//!
//! ```text
//! # comments
//! audit-keyed-from 1
//! key k1 2026-11-29 <base64 of 32 bytes>
//! key k2 2026-12-30 <base64 of 32 bytes> staged
//! ```

use std::path::{Path, PathBuf};

use base64::Engine;

use super::{today, KeySource, Keyring, ServerKey};

pub const FILE_NAME: &str = "keyring";
const LEGACY_FILE_NAME: &str = "session.key";

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("the keys come from the environment (PREQSTATION_KEYS), not a file: change the variable instead")]
    NotAFile,
}

fn file_error(path: &Path, message: impl Into<String>) -> KeyringError {
    KeyringError::File {
        path: path.display().to_string(),
        message: message.into(),
    }
}

fn decode(encoded: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded))
        .map_err(|_| "expected base64 (e.g. `openssl rand -base64 32`)".to_string())
}

/// Which variable or file a problem is about, for the configuration error.
pub struct Problem {
    pub var: &'static str,
    pub message: String,
}

/// Loads the keyring: `PREQSTATION_KEYS` (`id:base64,…`, newest last), else
/// `PREQSTATION_SESSION_KEY` (one key, id `k0`), else the data directory's
/// `keyring` file, created on first run (from `session.key` when an older
/// version left one, so nobody is signed out).
pub fn load(get: &dyn Fn(&str) -> Option<String>, data_dir: &Path) -> Result<Keyring, Problem> {
    let keyed_from = match get("PREQSTATION_AUDIT_KEYED_FROM") {
        Some(v) => Some(
            v.trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or(Problem {
                    var: "PREQSTATION_AUDIT_KEYED_FROM",
                    message: format!("expected a positive whole number, got {v:?}"),
                })?,
        ),
        None => None,
    };
    let env_problem = |var: &'static str| move |message: String| Problem { var, message };
    match (get("PREQSTATION_KEYS"), get("PREQSTATION_SESSION_KEY")) {
        (Some(_), Some(_)) => Err(Problem {
            var: "PREQSTATION_KEYS",
            message: "set PREQSTATION_KEYS or the older PREQSTATION_SESSION_KEY, not both".into(),
        }),
        (Some(list), None) => {
            let mut keys = Vec::new();
            for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let (id, encoded) = item.split_once(':').ok_or_else(|| Problem {
                    var: "PREQSTATION_KEYS",
                    message: "expected id:base64[,id:base64…], newest last".into(),
                })?;
                let bytes = decode(encoded.trim()).map_err(env_problem("PREQSTATION_KEYS"))?;
                keys.push(
                    ServerKey::new(id.trim(), "-", false, bytes)
                        .map_err(env_problem("PREQSTATION_KEYS"))?,
                );
            }
            Keyring::build(keys, keyed_from, KeySource::Environment, None)
                .map_err(env_problem("PREQSTATION_KEYS"))
        }
        (None, Some(single)) => {
            let bytes = decode(single.trim()).map_err(env_problem("PREQSTATION_SESSION_KEY"))?;
            let key = ServerKey::new("k0", "-", false, bytes)
                .map_err(env_problem("PREQSTATION_SESSION_KEY"))?;
            Keyring::build(vec![key], keyed_from, KeySource::Environment, None)
                .map_err(env_problem("PREQSTATION_SESSION_KEY"))
        }
        (None, None) => load_or_create(data_dir).map_err(|e| Problem {
            var: "PREQSTATION_DATA_DIR",
            message: e.to_string(),
        }),
    }
}

fn load_or_create(data_dir: &Path) -> Result<Keyring, KeyringError> {
    let path = data_dir.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(contents) => parse(&contents, &path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            crate::db::files::private_dir(data_dir)
                .map_err(|e| file_error(data_dir, format!("cannot create: {e}")))?;
            let legacy = data_dir.join(LEGACY_FILE_NAME);
            let (key, source) = match std::fs::read_to_string(&legacy) {
                Ok(contents) => {
                    let bytes = decode(contents.trim()).map_err(|m| file_error(&legacy, m))?;
                    let key = ServerKey::new("k0", &today(), false, bytes)
                        .map_err(|m| file_error(&legacy, m))?;
                    (key, KeySource::UpgradedFile)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let bytes = super::fresh_bytes().map_err(KeyringError::Invalid)?;
                    let key = ServerKey::new("k1", &today(), false, bytes)
                        .map_err(KeyringError::Invalid)?;
                    (key, KeySource::GeneratedFile)
                }
                Err(e) => return Err(file_error(&legacy, format!("cannot read: {e}"))),
            };
            // Where the keyed chain starts is pinned at the first start,
            // once the database is open (Keyring::pin_audit_keyed_from).
            let ring = Keyring::build(vec![key], None, source, Some(path.clone()))
                .map_err(KeyringError::Invalid)?;
            store(&path, &ring)?;
            Ok(ring)
        }
        Err(e) => Err(file_error(&path, format!("cannot read: {e}"))),
    }
}

fn parse(contents: &str, path: &Path) -> Result<Keyring, KeyringError> {
    let mut keys = Vec::new();
    let mut keyed_from = None;
    for (n, line) in contents.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |m: &str| file_error(path, format!("line {}: {m}", n + 1));
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["audit-keyed-from", seq] => {
                keyed_from = Some(
                    seq.parse::<i64>()
                        .ok()
                        .filter(|s| *s >= 1)
                        .ok_or_else(|| bad("audit-keyed-from needs a positive number"))?,
                );
            }
            ["key", id, created, encoded, rest @ ..] => {
                let staged = match rest {
                    [] => false,
                    ["staged"] => true,
                    _ => return Err(bad("a key line is: key <id> <created> <base64> [staged]")),
                };
                let bytes = decode(encoded).map_err(|m| bad(&m))?;
                keys.push(ServerKey::new(id, created, staged, bytes).map_err(|m| bad(&m))?);
            }
            _ => return Err(bad("expected `key …` or `audit-keyed-from …`")),
        }
    }
    Keyring::build(
        keys,
        keyed_from,
        KeySource::ExistingFile,
        Some(path.to_path_buf()),
    )
    .map_err(|m| file_error(path, m))
}

/// Writes the keyring file: to a fresh temporary file (mode 0600) first,
/// then renamed over the old one, so a crash never leaves half a keyring.
pub fn store(path: &Path, ring: &Keyring) -> Result<(), KeyringError> {
    let mut out = String::from(
        "# Preqstation keyring: the keys this server signs and encrypts with.\n\
         # Keep it secret (mode 0600) and backed up; it is never stored in the database.\n\
         # Newest key last. `preqstation keys rotate` adds one; see docs/security.md.\n",
    );
    if let Some(seq) = ring.audit_keyed_from {
        out.push_str(&format!("audit-keyed-from {seq}\n"));
    }
    for k in ring.keys.iter() {
        out.push_str(&format!(
            "key {} {} {}{}\n",
            k.id,
            k.created,
            base64::engine::general_purpose::STANDARD.encode(k.bytes.as_slice()),
            if k.staged { " staged" } else { "" }
        ));
    }
    let tmp: PathBuf = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    write_private_file(&tmp, out.as_bytes()).map_err(|e| file_error(&tmp, e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| file_error(path, e.to_string()))
}

fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("preq-keys-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn first_run_creates_a_private_file_that_later_runs_read() {
        let d = dir("fresh");
        let ring = load(&env(&[]), &d).map_err(|p| p.message).unwrap();
        assert_eq!(ring.source(), KeySource::GeneratedFile);
        assert_eq!(ring.ids(), ["k1"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.join(FILE_NAME))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = load(&env(&[]), &d).map_err(|p| p.message).unwrap();
        assert_eq!(again.source(), KeySource::ExistingFile);
        assert_eq!(
            again.current().bytes.as_slice(),
            ring.current().bytes.as_slice()
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn an_older_session_key_becomes_k0_and_rotation_keeps_it() {
        let d = dir("legacy");
        std::fs::create_dir_all(&d).unwrap();
        let old = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
        std::fs::write(d.join(LEGACY_FILE_NAME), &old).unwrap();
        let mut ring = load(&env(&[]), &d).map_err(|p| p.message).unwrap();
        assert_eq!(ring.source(), KeySource::UpgradedFile);
        assert_eq!(ring.current().bytes.as_slice(), &[9u8; 32]);
        assert_eq!(ring.audit_keyed_from(), None);
        ring.pin_audit_keyed_from(42).unwrap();
        let id = super::super::rotate_file(&ring, false).unwrap();
        assert_eq!(id, "k1");
        let after = load(&env(&[]), &d).map_err(|p| p.message).unwrap();
        assert_eq!(after.ids(), ["k0", "k1"]);
        assert_eq!(after.current().id(), "k1");
        assert_eq!(after.audit_keyed_from(), Some(42));
        super::super::retire_file(&after, "k0").unwrap();
        let last = load(&env(&[]), &d).map_err(|p| p.message).unwrap();
        assert_eq!(last.ids(), ["k1"]);
        assert!(
            super::super::retire_file(&last, "k1").is_err(),
            "the signing key stays"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn staged_keys_verify_until_promoted() {
        let d = dir("staged");
        let ring = load(&env(&[]), &d).map_err(|p| p.message).unwrap();
        let id = super::super::rotate_file(&ring, true).unwrap();
        let ring = load(&env(&[]), &d).map_err(|p| p.message).unwrap();
        assert_eq!(ring.current().id(), "k1");
        assert!(ring.get(&id).unwrap().staged());
        super::super::promote_file(&ring, &id).unwrap();
        let ring = load(&env(&[]), &d).map_err(|p| p.message).unwrap();
        assert_eq!(ring.current().id(), id);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn environment_keys_and_their_errors() {
        let a = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
        let b = base64::engine::general_purpose::STANDARD.encode([2u8; 32]);
        let d = dir("env");
        let list = format!("k1:{a}, k2:{b}");
        let ring = load(
            &env(&[
                ("PREQSTATION_KEYS", &list),
                ("PREQSTATION_AUDIT_KEYED_FROM", "7"),
            ]),
            &d,
        )
        .map_err(|p| p.message)
        .unwrap();
        assert_eq!(ring.ids(), ["k1", "k2"]);
        assert_eq!(ring.current().id(), "k2");
        assert_eq!(ring.audit_keyed_from(), Some(7));
        assert!(!d.exists(), "no file is written for environment keys");
        let single = load(&env(&[("PREQSTATION_SESSION_KEY", &a)]), &d)
            .map_err(|p| p.message)
            .unwrap();
        assert_eq!(single.ids(), ["k0"]);
        for (vars, var) in [
            (vec![("PREQSTATION_KEYS", "k1")], "PREQSTATION_KEYS"),
            (vec![("PREQSTATION_KEYS", "k1:short")], "PREQSTATION_KEYS"),
            (
                vec![("PREQSTATION_KEYS", &*format!("k1:{a},k1:{b}"))],
                "PREQSTATION_KEYS",
            ),
            (
                vec![
                    ("PREQSTATION_KEYS", &*list),
                    ("PREQSTATION_SESSION_KEY", &*a),
                ],
                "PREQSTATION_KEYS",
            ),
            (
                vec![("PREQSTATION_SESSION_KEY", "c2hvcnQ=")],
                "PREQSTATION_SESSION_KEY",
            ),
            (
                vec![("PREQSTATION_AUDIT_KEYED_FROM", "0")],
                "PREQSTATION_AUDIT_KEYED_FROM",
            ),
        ] {
            let err = load(&env(&vars), &d).err().unwrap();
            assert_eq!(err.var, var, "{vars:?}: {}", err.message);
            assert!(!err.message.contains(&a));
        }
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_the_line() {
        let d = dir("bad");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(FILE_NAME), "key k1 2026-01-01 !!!\n").unwrap();
        let err = load(&env(&[]), &d).err().unwrap();
        assert!(err.message.contains("line 1"), "{}", err.message);
        let _ = std::fs::remove_dir_all(&d);
    }
}
