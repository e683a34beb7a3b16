//! The stub's world: workspaces (one API key each) and devices, exactly as
//! the `seam` object of a scenario file spells them (`docs/scenarios.md`),
//! plus an optional per-device knob for the ways Seam's confirmation can go
//! wrong (`docs/brands/seam.md`, "What a faithful stub must reproduce", item 4).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::StubError;

/// The `seam` object of a scenario file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeamConfig {
    #[serde(default)]
    pub accounts: Vec<SeamAccount>,
    #[serde(default)]
    pub locks: Vec<SeamLock>,
}

/// A Seam workspace reached with one API key. Every workspace sees every
/// device (the file links no device to a workspace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeamAccount {
    /// The Bearer key (`seam_...`). It never expires; only
    /// [`super::Seam::revoke_tokens`] (revoked in Seam Console) kills it.
    pub api_key: String,
    /// The workspace's name (`workspaces/get`).
    pub name: String,
}

/// A device (lock) of a connected account. `id` is Seam's `device_id`, a
/// UUID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeamLock {
    pub id: String,
    pub name: String,
    /// The lock's brand as Seam spells the manufacturer (`schlage`,
    /// `nuki`, `lockly`, ...): it sets the device type, the code lengths and
    /// constraints, and how Seam schedules codes ([`super::Brand`]).
    pub brand: String,
    /// Reachable by Seam; `false` is the device error `device_disconnected`.
    #[serde(default = "default_true")]
    pub online: bool,
    /// Can take online access codes (`can_program_online_access_codes`).
    #[serde(default = "default_true")]
    pub codes: bool,
    /// How Seam's programming of codes on this device goes.
    #[serde(default, skip_serializing_if = "Programming::is_normal")]
    pub programming: Programming,
}

fn default_true() -> bool {
    true
}

/// How Seam's programming of codes on one device goes (the knobs of
/// `docs/brands/seam.md`'s faithful-stub list).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Programming {
    /// Codes reach the device [`super::PROGRAM_SECONDS`] after Seam starts on
    /// them while it is online.
    #[default]
    Normal,
    /// Nothing ever reaches the device and no error says so: codes stay
    /// `unset` / `setting` for ever.
    NeverConfirm,
    /// Every set fails for good: `failed_to_set_on_device`, never on the
    /// device.
    FailForGood,
    /// Seam shows codes `set` (and scheduled on the device) that the device
    /// never got (tracker #23).
    FalseSet,
}

impl Programming {
    fn is_normal(&self) -> bool {
        *self == Programming::Normal
    }
}

impl SeamConfig {
    /// Checks what [`super::Seam::new`] silently tolerates: keys that are
    /// not `seam_...` or are shared, device ids that are not UUIDs or are
    /// shared, empty names, unknown brands. Scenario loaders call this to
    /// refuse a bad file with a clear message.
    pub fn validate(&self) -> Result<(), StubError> {
        let invalid = |msg: String| Err(StubError::InvalidConfig(msg));
        let mut keys = HashSet::new();
        for a in &self.accounts {
            if !a.api_key.starts_with("seam_") || a.api_key.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return invalid(format!("account {:?}: api_key must start with seam_ and hold no spaces", a.name));
            }
            if !keys.insert(a.api_key.as_str()) {
                return invalid(format!("two accounts share the api_key of account {:?}", a.name));
            }
            if a.name.trim().is_empty() {
                return invalid("an account has an empty name".to_string());
            }
        }
        let mut ids = HashSet::new();
        for l in &self.locks {
            if !is_uuid(&l.id) {
                return invalid(format!("lock id {:?} must be a UUID (Seam's device_id)", l.id));
            }
            if !ids.insert(l.id.to_ascii_lowercase()) {
                return invalid(format!("duplicate lock id {:?}", l.id));
            }
            if l.name.trim().is_empty() {
                return invalid(format!("lock {:?} has an empty name", l.id));
            }
            if super::Brand::parse(&l.brand).is_none() {
                return invalid(format!(
                    "lock {:?}: unknown brand {:?} (expected one of {})",
                    l.id,
                    l.brand,
                    super::Brand::NAMES.join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// `8-4-4-4-12` hexadecimal digits.
pub(crate) fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}
