//! Tenant API keys (R31). The operator makes them through the API; each
//! reaches its own tenant only. A key is shown once, when it is made: the
//! service keeps only its SHA-256 (a key is 192 random bits, so a fast hash
//! is enough), and it can be revoked at any time.
//!
//! A key reads `slk_{id}_{secret}`: `id` (16 hex digits) finds its record,
//! `secret` (48 hex digits) proves it. In the service's namespace:
//!
//! | key | value |
//! |---|---|
//! | `apikey/{id}` | a [`KeyRecord`] (tenant, hash, label, when made) |
//! | `tenantkey/{tenant}/{id}` | empty: the tenant's keys, listed in order |

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::imports::{KvStore, StorageError, Write};

/// Who a request speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The operator's token: every tenant, and the keys themselves.
    Operator,
    /// An API key of this tenant: this tenant only.
    Tenant(String),
}

impl Caller {
    /// Whether the caller may read and change `tenant`.
    pub fn reaches(&self, tenant: &str) -> bool {
        match self {
            Caller::Operator => true,
            Caller::Tenant(t) => t == tenant,
        }
    }
}

/// What is kept of a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub tenant: String,
    /// Lower-case hex SHA-256 of the whole key.
    pub sha256: String,
    pub label: Option<String>,
    /// Unix seconds.
    pub created: i64,
}

/// A key as listed (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub id: String,
    pub label: Option<String>,
    pub created: i64,
}

const PREFIX: &str = "slk_";
const ID_HEX: usize = 16;
const SECRET_HEX: usize = 48;
/// Keys one tenant may have at once.
pub const MAX_KEYS_PER_TENANT: usize = 100;
/// Longest label, in characters.
pub const MAX_LABEL_CHARS: usize = 100;

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn random_hex(n_hex: usize) -> Result<String, StorageError> {
    let mut bytes = vec![0u8; n_hex / 2];
    getrandom::fill(&mut bytes).map_err(|e| StorageError::Unavailable(format!("no random source: {e}")))?;
    Ok(hex(&bytes))
}

fn sha256_hex(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

fn record_key(id: &str) -> String {
    format!("apikey/{id}")
}

fn listing_prefix(tenant: &str) -> String {
    format!("tenantkey/{tenant}/")
}

/// The `id` part of a well-formed key.
fn id_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex_ok =
        |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    (hex_ok(id, ID_HEX) && hex_ok(secret, SECRET_HEX)).then_some(id)
}

/// Whether `id` may name a key (as made by [`create`]).
pub fn valid_id(id: &str) -> bool {
    id.len() == ID_HEX && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The tenant `key` belongs to, if it is a live key.
pub fn verify(store: &dyn KvStore, key: &str) -> Result<Option<String>, StorageError> {
    let Some(id) = id_of(key) else { return Ok(None) };
    let Some(bytes) = store.get(&record_key(id))? else { return Ok(None) };
    let record: KeyRecord = serde_json::from_slice(&bytes)
        .map_err(|e| StorageError::Unavailable(format!("API key record {id} is unreadable: {e}")))?;
    Ok(constant_time_eq(sha256_hex(key).as_bytes(), record.sha256.as_bytes()).then_some(record.tenant))
}

/// The tenant's keys, oldest id first.
pub fn list(store: &dyn KvStore, tenant: &str) -> Result<Vec<KeyInfo>, StorageError> {
    let prefix = listing_prefix(tenant);
    let mut out = Vec::new();
    for (k, _) in store.list(&prefix, None, MAX_KEYS_PER_TENANT as u32 + 1)? {
        let id = &k[prefix.len()..];
        if let Some(bytes) = store.get(&record_key(id))? {
            if let Ok(r) = serde_json::from_slice::<KeyRecord>(&bytes) {
                out.push(KeyInfo { id: id.to_string(), label: r.label, created: r.created });
            }
        }
    }
    Ok(out)
}

/// Why a key could not be made.
#[derive(Debug)]
pub enum CreateError {
    TooMany,
    Storage(StorageError),
}

impl From<StorageError> for CreateError {
    fn from(e: StorageError) -> Self {
        CreateError::Storage(e)
    }
}

/// Makes a key for `tenant`: its info and the key itself (shown once).
pub fn create(
    store: &dyn KvStore,
    tenant: &str,
    label: Option<String>,
    now: i64,
) -> Result<(KeyInfo, String), CreateError> {
    if list(store, tenant)?.len() >= MAX_KEYS_PER_TENANT {
        return Err(CreateError::TooMany);
    }
    let id = random_hex(ID_HEX)?;
    let key = format!("{PREFIX}{id}_{}", random_hex(SECRET_HEX)?);
    let record = KeyRecord { tenant: tenant.to_string(), sha256: sha256_hex(&key), label: label.clone(), created: now };
    let value = serde_json::to_vec(&record).unwrap_or_default();
    store.apply(&[
        Write::Set { key: record_key(&id), value },
        Write::Set { key: format!("{}{id}", listing_prefix(tenant)), value: Vec::new() },
    ])?;
    Ok((KeyInfo { id, label, created: now }, key))
}

/// Revokes the tenant's key `id`; whether there was one.
pub fn revoke(store: &dyn KvStore, tenant: &str, id: &str) -> Result<bool, StorageError> {
    let Some(bytes) = store.get(&record_key(id))? else { return Ok(false) };
    let owner = serde_json::from_slice::<KeyRecord>(&bytes).map(|r| r.tenant).unwrap_or_default();
    if owner != tenant {
        return Ok(false);
    }
    store.apply(&[
        Write::Delete { key: record_key(id) },
        Write::Delete { key: format!("{}{id}", listing_prefix(tenant)) },
    ])?;
    Ok(true)
}

/// Compares in time independent of where the strings differ.
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imports::SqliteDb;

    #[test]
    fn a_key_reaches_its_tenant_until_revoked_and_only_its_hash_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::open(dir.path().join("k.sqlite")).unwrap();
        let store = db.tenant("host/service");
        let (info, key) = create(&store, "t1", Some("PMS prod".into()), 100).unwrap();
        assert!(key.starts_with("slk_") && key.len() == 4 + 16 + 1 + 48, "{key}");
        assert_eq!(verify(&store, &key).unwrap().as_deref(), Some("t1"));
        let mut wrong = key.clone();
        wrong.pop();
        wrong.push(if key.ends_with('0') { '1' } else { '0' });
        assert_eq!(verify(&store, &wrong).unwrap(), None, "one digit off");
        assert_eq!(verify(&store, "slk_nothing").unwrap(), None);
        let stored = store.get(&record_key(&info.id)).unwrap().unwrap();
        assert!(!String::from_utf8_lossy(&stored).contains(&key[21..]), "the secret is not stored");
        assert_eq!(list(&store, "t1").unwrap(), vec![info.clone()]);
        assert!(list(&store, "t2").unwrap().is_empty());
        assert!(!revoke(&store, "t2", &info.id).unwrap(), "another tenant cannot revoke it");
        assert!(revoke(&store, "t1", &info.id).unwrap());
        assert_eq!(verify(&store, &key).unwrap(), None);
        assert!(list(&store, "t1").unwrap().is_empty());
    }

    #[test]
    fn callers_reach_their_own_tenant() {
        assert!(Caller::Operator.reaches("a"));
        assert!(Caller::Tenant("a".into()).reaches("a"));
        assert!(!Caller::Tenant("a".into()).reaches("b"));
    }
}
