//! The stub's world: accounts, locks and bridges, exactly as the `igloohome`
//! object of a scenario file spells them (see `docs/scenarios.md`).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::StubError;

/// The `igloohome` object of a scenario file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StubConfig {
    #[serde(default)]
    pub accounts: Vec<StubAccount>,
    #[serde(default)]
    pub locks: Vec<StubLock>,
    #[serde(default)]
    pub bridges: Vec<StubBridge>,
}

/// An API client (one igloohome account). Every account sees every device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StubAccount {
    pub client_id: String,
    pub client_secret: String,
    /// Display name, carried in the access token's `name` claim.
    pub name: String,
}

/// A lock. `bridge` is the bridge it is paired with, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StubLock {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
}

/// A bridge (the lock's link to the cloud).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StubBridge {
    pub id: String,
    pub name: String,
    #[serde(default = "default_true")]
    pub online: bool,
    /// What a job POST gets while this bridge is offline (the API doc says
    /// both behaviours are seen in the field).
    #[serde(default, skip_serializing_if = "OfflineReply::is_queue")]
    pub offline_reply: OfflineReply,
}

fn default_true() -> bool {
    true
}

/// How the API answers a job POST for an offline bridge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OfflineReply {
    /// 200 with a job id; the job waits in the queue and expires 120 s later.
    #[default]
    Queue,
    /// 406 `{"message": "bridge is offline"}` at once.
    Reject,
}

impl OfflineReply {
    fn is_queue(&self) -> bool {
        *self == OfflineReply::Queue
    }
}

impl StubConfig {
    /// Checks what [`super::Igloohome::new`] silently tolerates: empty or
    /// duplicate ids, and locks naming a bridge that does not exist. Scenario
    /// loaders call this to refuse a bad file with a clear message.
    pub fn validate(&self) -> Result<(), StubError> {
        let invalid = |msg: String| Err(StubError::InvalidConfig(msg));
        let mut client_ids = HashSet::new();
        for a in &self.accounts {
            if a.client_id.is_empty() || a.client_secret.is_empty() {
                return invalid("an account has an empty client_id or client_secret".into());
            }
            if a.client_id.contains(':') {
                // Basic auth could not carry it unambiguously.
                return invalid(format!("client_id {:?} must not contain ':'", a.client_id));
            }
            if !client_ids.insert(a.client_id.as_str()) {
                return invalid(format!("duplicate account client_id {:?}", a.client_id));
            }
        }
        // Locks and bridges share one device-id space (GET /devices/{deviceId}).
        let mut device_ids = HashSet::new();
        for id in self.locks.iter().map(|l| &l.id).chain(self.bridges.iter().map(|b| &b.id)) {
            if !valid_device_id(id) {
                return invalid(format!("device id {id:?} must be 1-64 ASCII letters, digits, '-' or '_'"));
            }
            if !device_ids.insert(id.as_str()) {
                return invalid(format!("duplicate device id {id:?}"));
            }
        }
        for l in &self.locks {
            if let Some(b) = &l.bridge {
                if !self.bridges.iter().any(|x| &x.id == b) {
                    return invalid(format!("lock {:?} names unknown bridge {b:?}", l.id));
                }
            }
        }
        Ok(())
    }
}

fn valid_device_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
