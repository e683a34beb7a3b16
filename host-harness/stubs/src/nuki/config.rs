//! The stub's world: accounts and locks, exactly as the `nuki` object of a
//! scenario file spells them (see `docs/scenarios.md`), plus a few
//! optional per-lock knobs for the field behaviours `docs/brands/nuki.md` reports.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::StubError;

/// The `nuki` object of a scenario file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NukiConfig {
    #[serde(default)]
    pub accounts: Vec<NukiAccount>,
    #[serde(default)]
    pub locks: Vec<NukiLock>,
}

/// A Nuki Web account reached with one API token. Every account sees every
/// lock (the stub has one "household").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NukiAccount {
    /// The Bearer string the owner generated in Nuki Web. It never expires;
    /// only [`super::Nuki::revoke_tokens`] (a password change) kills it.
    pub api_token: String,
    pub name: String,
}

/// A smart lock. `id` is the decimal `smartlockId` (it may exceed 2^32); on
/// the wire it is a JSON number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NukiLock {
    pub id: String,
    pub name: String,
    /// A keypad is paired: without one, keypad codes (type 13) are refused.
    #[serde(default = "default_true")]
    pub keypad: bool,
    /// Reachable through its bridge or its own Wi-Fi; `false` is
    /// `serverState` 4.
    #[serde(default = "default_true")]
    pub online: bool,
    /// What becomes of writes the server cannot push because the lock is
    /// offline (the API doc says both are reported).
    #[serde(default, skip_serializing_if = "OfflineWrites::is_drop")]
    pub offline_writes: OfflineWrites,
    /// A carried-out delete leaves its auth listed (a "ghost" that still
    /// blocks its PIN with 409) until `POST /smartlock/{id}/sync`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ghost_deletes: bool,
    /// Writes are accepted (204) and stay pending for ever: the auth keeps
    /// its `operationId` and further writes to it get 423.
    #[serde(default, skip_serializing_if = "is_false")]
    pub never_confirm: bool,
}

fn default_true() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What the server does with a write it could not push to an offline lock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OfflineWrites {
    /// The stricter reading, and the default: the push fails
    /// [`super::PUSH_TIMEOUT`] seconds after the 204 unless the lock came
    /// back in time; the write is lost and the listing shows the lock's
    /// state again (a created auth disappears, an update reverts).
    #[default]
    Drop,
    /// Beds24's reading: the write waits and is carried out when the lock
    /// is back online.
    Apply,
}

impl OfflineWrites {
    fn is_drop(&self) -> bool {
        *self == OfflineWrites::Drop
    }
}

impl NukiConfig {
    /// Checks what [`super::Nuki::new`] silently tolerates: empty or
    /// duplicate tokens, lock ids that are not a canonical positive decimal
    /// number, duplicate lock ids. Scenario loaders call this to refuse a
    /// bad file with a clear message.
    pub fn validate(&self) -> Result<(), StubError> {
        let invalid = |msg: String| Err(StubError::InvalidConfig(msg));
        let mut tokens = HashSet::new();
        for a in &self.accounts {
            if a.api_token.is_empty() || a.api_token.chars().any(char::is_whitespace) {
                // A Bearer header could not carry it unambiguously.
                return invalid(format!("account {:?} has an empty api_token or one with spaces", a.name));
            }
            if !tokens.insert(a.api_token.as_str()) {
                return invalid(format!("two accounts share the api_token of account {:?}", a.name));
            }
        }
        let mut ids = HashSet::new();
        for l in &self.locks {
            if parse_lock_id(&l.id).is_none() {
                return invalid(format!(
                    "lock id {:?} must be a positive decimal number without leading zeros (Nuki's smartlockId)",
                    l.id
                ));
            }
            if !ids.insert(l.id.as_str()) {
                return invalid(format!("duplicate lock id {:?}", l.id));
            }
            if l.name.is_empty() {
                return invalid(format!("lock {:?} has an empty name", l.id));
            }
        }
        Ok(())
    }
}

/// The wire `smartlockId` of a configured lock id: a canonical decimal u64
/// other than 0 ("018" is refused so that one number has one spelling).
pub(crate) fn parse_lock_id(id: &str) -> Option<u64> {
    if id.is_empty() || id.starts_with('0') || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}
