//! Sealing the audit chain with a key kept outside the database, and anchors of its head.
//!
//! Each event's hash already covers every event before it; sealing adds an HMAC-SHA256 of the
//! event's position and hash (its `mac`). Someone who can write the database but does not hold
//! the key can still delete events from the end of the chain, or rewrite the chain and
//! recompute every plain hash, but cannot make the MACs match: a rewrite is detected by
//! `audit verify`. Deleting the newest events leaves a shorter chain that is itself intact;
//! that is what an [`Anchor`] is for: the head (`seq`, `hash`) exported with its own MAC to a
//! place the database's writers cannot reach, and checked by `audit verify --anchor FILE`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The anchor file format this version writes and reads.
pub const ANCHOR_FORMAT: &str = "schemagate-audit-anchor-v1";

/// Shortest key accepted from `SCHEMAGATE_AUDIT_KEY`, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// The audit key: secret bytes that never enter the database. A key file may hold the keys a
/// rotation retired before the current one (one per line, oldest first, the current one last):
/// they seal nothing any more but still check the events they sealed.
#[derive(Clone)]
pub struct AuditKey {
    bytes: Vec<u8>,
    /// Where it came from, for messages (`/srv/schemagate/audit.key`, `SCHEMAGATE_AUDIT_KEY`).
    pub source: String,
    /// The key file it was read from (none for `SCHEMAGATE_AUDIT_KEY`).
    path: Option<PathBuf>,
    /// Keys retired by rotations, oldest first.
    retired: Vec<AuditKey>,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditKey")
            .field("fingerprint", &self.fingerprint())
            .field("source", &self.source)
            .field("retired", &self.retired.len())
            .finish()
    }
}

/// Why a key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key material is too short.
    #[error(
        "the audit key from {origin} is {length} bytes long: at least {MIN_KEY_BYTES} are needed"
    )]
    TooShort {
        /// Where it came from.
        origin: String,
        /// Its length.
        length: usize,
    },
    /// The key file does not hold lines of 64 hex digits.
    #[error("the audit key file {} does not hold lines of 64 hex digits (retired keys first, the current one last)", .0.display())]
    Malformed(PathBuf),
    /// Only a key kept in a file can be rotated (the file keeps the retired key).
    #[error("the audit key from {0} is not kept in a file: only a key file can be rotated")]
    NotAFile(String),
    /// Reading or creating the key file failed.
    #[error("while reading or creating the audit key file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// Compares two strings in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl AuditKey {
    /// A key from raw material (`SCHEMAGATE_AUDIT_KEY`), at least [`MIN_KEY_BYTES`] long.
    ///
    /// # Errors
    /// [`KeyError::TooShort`].
    pub fn from_material(material: &str, source: &str) -> Result<AuditKey, KeyError> {
        let material = material.trim();
        if material.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort {
                origin: source.to_string(),
                length: material.len(),
            });
        }
        Ok(AuditKey {
            bytes: material.as_bytes().to_vec(),
            source: source.to_string(),
            path: None,
            retired: Vec::new(),
        })
    }

    /// Reads the key file at `path`, creating it (32 random bytes as hex, mode 0600) when it
    /// does not exist yet.
    ///
    /// # Errors
    /// [`KeyError::Io`] and [`KeyError::Malformed`].
    pub fn load_or_create(path: &Path) -> Result<AuditKey, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        if !path.exists() {
            use std::io::{Read, Write};
            use std::os::unix::fs::OpenOptionsExt;
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            let mut random = [0u8; 32];
            std::fs::File::open("/dev/urandom")
                .and_then(|mut f| f.read_exact(&mut random))
                .map_err(io)?;
            // create_new: of two processes starting at once, one writes and both read its key.
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
            {
                Ok(mut file) => {
                    file.write_all(format!("{}\n", hex(&random)).as_bytes())
                        .and_then(|()| file.sync_all())
                        .map_err(io)?;
                    tracing::info!(file = %path.display(), "created the audit key");
                }
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(io(error)),
            }
        }
        let text = crate::file_io::read_text(path, 64 * 1024).map_err(io)?;
        let mut keys = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(|line| {
                let bytes = unhex(line).filter(|b| b.len() == 32)?;
                Some(AuditKey {
                    bytes,
                    source: path.display().to_string(),
                    path: Some(path.to_path_buf()),
                    retired: Vec::new(),
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| KeyError::Malformed(path.to_path_buf()))?;
        let mut current = keys
            .pop()
            .ok_or_else(|| KeyError::Malformed(path.to_path_buf()))?;
        current.retired = keys;
        Ok(current)
    }

    /// This key read again from its file (after another process rotated it), if it has one.
    ///
    /// # Errors
    /// [`KeyError`] of reading the file.
    pub fn reread(&self) -> Result<Option<AuditKey>, KeyError> {
        self.path.as_deref().map(Self::load_or_create).transpose()
    }

    /// The key with `fingerprint`: this one or a retired one.
    #[must_use]
    pub fn find(&self, fingerprint: &str) -> Option<&AuditKey> {
        std::iter::once(self)
            .chain(&self.retired)
            .find(|key| key.fingerprint() == fingerprint)
    }

    /// A fresh key that retires this one, and the key file's new text (retired keys first).
    ///
    /// # Errors
    /// [`KeyError::NotAFile`] for a key not read from a file; reading random bytes.
    pub fn rotated(&self) -> Result<(AuditKey, String), KeyError> {
        use std::io::Read;
        let Some(path) = &self.path else {
            return Err(KeyError::NotAFile(self.source.clone()));
        };
        let mut random = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut random))
            .map_err(|source| KeyError::Io {
                path: PathBuf::from("/dev/urandom"),
                source,
            })?;
        let mut retired = self.retired.clone();
        retired.push(AuditKey {
            retired: Vec::new(),
            ..self.clone()
        });
        let text: String = retired
            .iter()
            .map(|key| hex(&key.bytes))
            .chain(std::iter::once(hex(&random)))
            .map(|line| line + "\n")
            .collect();
        let next = AuditKey {
            bytes: random.to_vec(),
            source: self.source.clone(),
            path: Some(path.clone()),
            retired,
        };
        Ok((next, text))
    }

    /// The key file, if the key was read from one.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn mac(&self, parts: &[&str]) -> String {
        hex(&hmac_sha256(&self.bytes, parts.join("\0").as_bytes()))
    }

    /// The MAC sealing the event at `seq` whose hash is `hash`.
    pub fn event_mac(&self, seq: i64, hash: &str) -> String {
        self.mac(&["schemagate-audit-event-v1", &seq.to_string(), hash])
    }

    /// Whether `mac` seals the event at `seq` with `hash`.
    pub fn event_mac_matches(&self, seq: i64, hash: &str, mac: &str) -> bool {
        same(&self.event_mac(seq, hash), mac)
    }

    /// A short public name of the key (16 hex digits): tells keys apart, reveals nothing.
    pub fn fingerprint(&self) -> String {
        self.mac(&["schemagate-audit-key-fingerprint-v1"])[..16].to_string()
    }

    /// An anchor of the chain head (`seq` 0 and the genesis hash for an empty chain).
    pub fn anchor(&self, seq: i64, hash: &str, at: time::OffsetDateTime) -> Anchor {
        Anchor {
            format: ANCHOR_FORMAT.to_string(),
            seq,
            hash: hash.to_string(),
            at,
            key: self.fingerprint(),
            mac: self.mac(&["schemagate-audit-anchor-v1", &seq.to_string(), hash]),
        }
    }

    /// Whether `anchor` was written with this key (or a key it retired) and not altered since.
    pub fn anchor_matches(&self, anchor: &Anchor) -> bool {
        let Some(key) = self.find(&anchor.key) else {
            return false;
        };
        anchor.format == ANCHOR_FORMAT
            && same(
                &key.mac(&[
                    "schemagate-audit-anchor-v1",
                    &anchor.seq.to_string(),
                    &anchor.hash,
                ]),
                &anchor.mac,
            )
    }
}

/// The chain head as exported by `audit anchor`: keep copies where the database's writers
/// cannot change them (another host, write-once storage).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// Always [`ANCHOR_FORMAT`].
    pub format: String,
    /// The newest event's position when the anchor was taken (0: the chain was empty).
    pub seq: i64,
    /// That event's hash.
    pub hash: String,
    /// When the anchor was taken.
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    /// The fingerprint of the key that sealed it.
    pub key: String,
    /// HMAC of `seq` and `hash` under the audit key.
    pub mac: String,
}

static INSTALLED: RwLock<Option<Arc<AuditKey>>> = RwLock::new(None);

/// Makes `key` the key every event this process appends is sealed with.
pub fn install(key: AuditKey) {
    if let Ok(mut slot) = INSTALLED.write() {
        *slot = Some(Arc::new(key));
    }
}

/// The key installed with [`install`], if any.
pub fn installed() -> Option<Arc<AuditKey>> {
    INSTALLED.read().ok().and_then(|slot| slot.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_the_rfc_4231_test_vector() {
        // RFC 4231, test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_short_key_is_refused_and_macs_depend_on_the_key() {
        assert!(matches!(
            AuditKey::from_material("short", "SCHEMAGATE_AUDIT_KEY"),
            Err(KeyError::TooShort { length: 5, .. })
        ));
        let a = AuditKey::from_material(&"a".repeat(32), "a").unwrap();
        let b = AuditKey::from_material(&"b".repeat(32), "b").unwrap();
        assert_ne!(a.event_mac(1, "h"), b.event_mac(1, "h"));
        assert!(a.event_mac_matches(1, "h", &a.event_mac(1, "h")));
        assert!(!a.event_mac_matches(2, "h", &a.event_mac(1, "h")));
        let anchor = a.anchor(3, "h", time::OffsetDateTime::UNIX_EPOCH);
        assert!(a.anchor_matches(&anchor));
        assert!(!b.anchor_matches(&anchor));
        assert!(!a.anchor_matches(&Anchor { seq: 2, ..anchor }));
    }
}
