//! The server's own keys, in a keyring with key ids.
//!
//! Each entry is 32 random bytes under an id (`k1`, `k2`, …). From every
//! entry four purpose keys are derived, so no two uses share a key:
//!
//! | purpose | derivation | protects |
//! |---|---|---|
//! | session cookies | the entry itself (HMAC-SHA256) | `__Host-session` tags |
//! | known-device cookies | HMAC(entry, "preqstation known-device cookie, key d1") | `__Host-device` tags |
//! | audit chain | HMAC(entry, "preqstation audit chain, v1") | each entry's link hash |
//! | sealed secrets | HMAC(entry, "preqstation sealed secrets, v1") | XChaCha20-Poly1305 at rest |
//!
//! New signatures and ciphertexts use the newest active entry and carry its
//! id; verification accepts any listed entry. The first two derivations are
//! what a single `session.key` used before keyrings existed, so upgrading
//! (the old key becomes `k0`) signs nobody out.
//!
//! Keys live in the data directory's `keyring` file (mode 0600) or in
//! `PREQSTATION_KEYS`; never in the database (docs/security.md).

mod file;
mod seal;

use std::{fmt, path::PathBuf, sync::Arc};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

pub use file::{load, KeyringError, Problem, FILE_NAME};
pub use seal::SealError;

/// Where the keyring came from (logged at start, never the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// `PREQSTATION_KEYS` (or the older single `PREQSTATION_SESSION_KEY`).
    Environment,
    /// The data directory's `keyring` file, as found.
    ExistingFile,
    /// The `keyring` file, created now from the older `session.key`.
    UpgradedFile,
    /// The `keyring` file, created now with a fresh key.
    GeneratedFile,
    /// Built in code (tests and benchmarks).
    Provided,
}

/// One key of the ring, with its purpose keys derived once.
pub struct ServerKey {
    id: String,
    created: String,
    /// Verifies only: a key being rolled out to every instance before any
    /// of them signs with it (`preqstation keys rotate --staged`).
    staged: bool,
    bytes: Zeroizing<Vec<u8>>,
    session: Hmac<Sha256>,
    device: Hmac<Sha256>,
    audit: Hmac<Sha256>,
    seal: chacha20poly1305::XChaCha20Poly1305,
}

impl ServerKey {
    fn new(id: &str, created: &str, staged: bool, bytes: Vec<u8>) -> Result<Self, String> {
        valid_id(id)?;
        if bytes.len() < 32 {
            return Err(format!(
                "key {id}: the key must be at least 32 bytes, got {}",
                bytes.len()
            ));
        }
        let session =
            <Hmac<Sha256> as Mac>::new_from_slice(&bytes).map_err(|e| format!("key {id}: {e}"))?;
        let derive = |label: &[u8]| -> Result<Zeroizing<Vec<u8>>, String> {
            let mut mac = session.clone();
            mac.update(label);
            Ok(Zeroizing::new(mac.finalize().into_bytes().to_vec()))
        };
        let keyed = |k: &[u8]| {
            <Hmac<Sha256> as Mac>::new_from_slice(k).map_err(|e| format!("key {id}: {e}"))
        };
        let device = keyed(&derive(b"preqstation known-device cookie, key d1")?)?;
        let audit = keyed(&derive(b"preqstation audit chain, v1")?)?;
        let seal = seal::cipher(&derive(b"preqstation sealed secrets, v1")?)
            .map_err(|e| format!("key {id}: {e}"))?;
        Ok(Self {
            id: id.to_string(),
            created: created.to_string(),
            staged,
            bytes: Zeroizing::new(bytes),
            session,
            device,
            audit,
            seal,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn created(&self) -> &str {
        &self.created
    }
    pub fn staged(&self) -> bool {
        self.staged
    }
    /// HMAC state for session cookie tags.
    pub fn session_mac(&self) -> Hmac<Sha256> {
        self.session.clone()
    }
    /// HMAC state for known-device cookie tags.
    pub fn device_mac(&self) -> Hmac<Sha256> {
        self.device.clone()
    }
    /// HMAC state for audit-chain links.
    pub fn audit_mac(&self) -> Hmac<Sha256> {
        self.audit.clone()
    }
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerKey({}, <redacted>)", self.id)
    }
}

/// Key ids: 1-16 lower-case letters and digits (they appear in cookies and
/// audit rows).
fn valid_id(id: &str) -> Result<(), String> {
    if (1..=16).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(format!(
            "key id {id:?}: use 1-16 lower-case letters and digits"
        ))
    }
}

/// The keyring: oldest key first, newest last.
#[derive(Clone)]
pub struct Keyring {
    keys: Arc<Vec<ServerKey>>,
    /// The first audit sequence number whose entry must be keyed. Entries
    /// before it were written before the chain was keyed. Kept with the
    /// keys (never in the database), so rewriting the database cannot
    /// pass keyed entries off as older unkeyed ones.
    audit_keyed_from: Option<i64>,
    source: KeySource,
    /// The `keyring` file, when the keys came from one.
    path: Option<PathBuf>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("ids", &self.ids())
            .field("audit_keyed_from", &self.audit_keyed_from)
            .field("source", &self.source)
            .finish()
    }
}

impl Keyring {
    fn build(
        keys: Vec<ServerKey>,
        audit_keyed_from: Option<i64>,
        source: KeySource,
        path: Option<PathBuf>,
    ) -> Result<Self, String> {
        if !keys.iter().any(|k| !k.staged) {
            return Err("the keyring has no active (non-staged) key".into());
        }
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.id == k.id) {
                return Err(format!("key id {} appears twice", k.id));
            }
        }
        Ok(Self {
            keys: Arc::new(keys),
            audit_keyed_from,
            source,
            path,
        })
    }

    /// One fresh key (`k1`), chain keyed from the first entry: tests and
    /// benchmarks. Fails only if the OS random number generator does.
    pub fn generate() -> Result<Self, String> {
        let bytes = fresh_bytes()?;
        Self::build(
            vec![ServerKey::new("k1", &today(), false, bytes)?],
            Some(1),
            KeySource::Provided,
            None,
        )
    }

    /// A ring of one given key (tests, and tools that build keys in code).
    pub fn single(id: &str, bytes: Vec<u8>) -> Result<Self, String> {
        Self::build(
            vec![ServerKey::new(id, &today(), false, bytes)?],
            Some(1),
            KeySource::Provided,
            None,
        )
    }

    /// The key new signatures and ciphertexts use: the newest active one.
    pub fn current(&self) -> &ServerKey {
        // `build` guarantees an active key; the fallback is unreachable.
        self.keys
            .iter()
            .rev()
            .find(|k| !k.staged)
            .unwrap_or(&self.keys[self.keys.len() - 1])
    }

    /// Any listed key, staged ones included (they verify).
    pub fn get(&self, id: &str) -> Option<&ServerKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    pub fn keys(&self) -> &[ServerKey] {
        &self.keys
    }

    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    pub fn source(&self) -> KeySource {
        self.source
    }

    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    pub fn audit_keyed_from(&self) -> Option<i64> {
        self.audit_keyed_from
    }

    /// Seals `plaintext` under the current key; `context` binds it to its
    /// place (a row), so a ciphertext moved elsewhere does not open.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, SealError> {
        seal::seal(self.current(), context, plaintext)
    }

    /// Opens what [`Keyring::seal`] produced, under whichever listed key it
    /// names.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
        seal::open(self, context, sealed)
    }

    /// Pins where the keyed chain starts, writing it to the `keyring` file
    /// when the keys came from one. Called once, at the first start after
    /// the upgrade; later starts find it pinned.
    pub fn pin_audit_keyed_from(&mut self, seq: i64) -> Result<(), KeyringError> {
        self.audit_keyed_from = Some(seq);
        if let Some(path) = &self.path {
            file::store(path, self)?;
        }
        Ok(())
    }

    /// This ring with its keys changed by `change` (and checked again).
    fn edited(
        &self,
        change: impl FnOnce(&mut Vec<ServerKey>) -> Result<(), String>,
    ) -> Result<Self, String> {
        let mut keys: Vec<ServerKey> = self
            .keys
            .iter()
            .map(|k| ServerKey::new(&k.id, &k.created, k.staged, k.bytes.to_vec()))
            .collect::<Result<_, _>>()?;
        change(&mut keys)?;
        Self::build(keys, self.audit_keyed_from, self.source, self.path.clone())
    }

    /// Test support: the ring with another key appended as the newest.
    pub fn with_new_key(&self, id: &str) -> Result<Self, String> {
        self.edited(|keys| {
            keys.push(ServerKey::new(id, &today(), false, fresh_bytes()?)?);
            Ok(())
        })
    }
}

fn fresh_bytes() -> Result<Vec<u8>, String> {
    crate::crypto::random_bytes::<32>()
        .map(|b| b.to_vec())
        .map_err(|e| format!("the OS random number generator failed: {e}"))
}

fn today() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    )
}

/// The next free id of the form `k<n>`.
fn next_id(ring: &Keyring) -> String {
    let n = ring
        .keys
        .iter()
        .filter_map(|k| k.id.strip_prefix('k')?.parse::<u32>().ok())
        .max()
        .map_or(1, |n| n + 1);
    format!("k{n}")
}

/// `preqstation keys rotate [--staged]`: adds a fresh key as the newest and
/// rewrites the file. Returns the new id.
pub fn rotate_file(ring: &Keyring, staged: bool) -> Result<String, KeyringError> {
    let id = next_id(ring);
    edit_file(ring, |keys| {
        keys.push(ServerKey::new(&id, &today(), staged, fresh_bytes()?)?);
        Ok(())
    })?;
    Ok(id)
}

/// `preqstation keys promote ID`: a staged key becomes active (and, being
/// the newest, the one that signs).
pub fn promote_file(ring: &Keyring, id: &str) -> Result<(), KeyringError> {
    edit_file(ring, |keys| {
        let k = keys
            .iter_mut()
            .find(|k| k.id == id)
            .ok_or_else(|| format!("no key {id:?} in the keyring"))?;
        k.staged = false;
        Ok(())
    })
}

/// `preqstation keys retire ID`: removes a key. The caller has checked
/// that no data it protects is still kept.
pub fn retire_file(ring: &Keyring, id: &str) -> Result<(), KeyringError> {
    if ring.current().id == id {
        return Err(KeyringError::Invalid(format!(
            "{id} is the key that signs now; rotate first, then retire it once its data has expired"
        )));
    }
    edit_file(ring, |keys| {
        let before = keys.len();
        keys.retain(|k| k.id != id);
        if keys.len() == before {
            return Err(format!("no key {id:?} in the keyring"));
        }
        Ok(())
    })
}

fn edit_file(
    ring: &Keyring,
    change: impl FnOnce(&mut Vec<ServerKey>) -> Result<(), String>,
) -> Result<(), KeyringError> {
    let path = ring.path.as_deref().ok_or(KeyringError::NotAFile)?;
    let next = ring.edited(change).map_err(KeyringError::Invalid)?;
    file::store(path, &next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purpose_keys_differ_and_debug_hides_them() {
        let ring = Keyring::generate().unwrap();
        let k = ring.current();
        let tag = |mut m: Hmac<Sha256>| {
            m.update(b"x");
            m.finalize().into_bytes().to_vec()
        };
        let all = [
            tag(k.session_mac()),
            tag(k.device_mac()),
            tag(k.audit_mac()),
        ];
        assert_ne!(all[0], all[1]);
        assert_ne!(all[1], all[2]);
        assert_ne!(all[0], all[2]);
        let shown = format!("{ring:?} {k:?}");
        assert!(shown.contains("k1"));
        assert!(!shown.contains(&format!("{:?}", k.bytes.as_slice())));
    }

    #[test]
    fn the_newest_active_key_signs_and_staged_keys_only_verify() {
        let a = ServerKey::new("k1", "2026-01-01", false, vec![1; 32]).unwrap();
        let b = ServerKey::new("k2", "2026-02-01", true, vec![2; 32]).unwrap();
        let ring = Keyring::build(vec![a, b], Some(1), KeySource::Provided, None).unwrap();
        assert_eq!(ring.current().id(), "k1");
        assert!(ring.get("k2").is_some());
        assert_eq!(next_id(&ring), "k3");
        let only_staged = ServerKey::new("k2", "2026-02-01", true, vec![2; 32]).unwrap();
        assert!(Keyring::build(vec![only_staged], None, KeySource::Provided, None).is_err());
    }

    #[test]
    fn ids_are_checked() {
        assert!(valid_id("k12").is_ok());
        assert!(valid_id("").is_err());
        assert!(valid_id("K1").is_err());
        assert!(valid_id("k.1").is_err());
        assert!(ServerKey::new("k1", "d", false, vec![0; 16]).is_err());
        assert!(
            ServerKey::new("k1", "d", false, vec![0; 48]).is_ok(),
            "longer keys as before"
        );
    }
}
