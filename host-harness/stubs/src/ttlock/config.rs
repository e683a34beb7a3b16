//! The stub's world: the application, accounts, locks and gateways, exactly
//! as the `ttlock` object of a scenario file spells them (see
//! `docs/scenarios.md`).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::StubError;

/// The `ttlock` object of a scenario file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TtlockConfig {
    /// The TTLock application (developer-console app) the PMS registered.
    pub app: TtlockApp,
    #[serde(default)]
    pub accounts: Vec<TtlockAccount>,
    #[serde(default)]
    pub locks: Vec<TtlockLock>,
    #[serde(default)]
    pub gateways: Vec<TtlockGateway>,
}

/// The one application whose `clientId` / `clientSecret` every call carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TtlockApp {
    pub client_id: String,
    pub client_secret: String,
}

/// A TTLock app account (the locks' top administrator). Every account sees
/// every lock of the world.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TtlockAccount {
    /// Phone number or e-mail, as typed in the TTLock app.
    pub username: String,
    /// The plain password; the API wants its lower-case hex MD5.
    pub password: String,
    pub name: String,
}

/// A lock. Its id is a string in the file and a number (`lockId`) on the
/// wire, so it must be a canonical positive integer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TtlockLock {
    pub id: String,
    /// Shown as `lockAlias` (the name the owner gave it).
    pub name: String,
    /// The gateway that reaches it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// A Wi-Fi lock reaches the cloud on its own (`featureValue` bit 56).
    #[serde(default, skip_serializing_if = "is_false")]
    pub wifi: bool,
    /// The lock's `timezoneRawOffset`, in minutes east of UTC (an optional
    /// extension of the format; default 0). Reported only: windows are
    /// absolute instants and the stub does not shift them (whether the real
    /// cloud does is unknown).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub utc_offset_minutes: i32,
}

/// A gateway (the locks' link to the cloud). Its id is numeric on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TtlockGateway {
    pub id: String,
    pub name: String,
    #[serde(default = "default_true")]
    pub online: bool,
}

fn default_true() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

/// Largest id that survives a round trip through a JavaScript number (some
/// clients parse TTLock's JSON that way).
const MAX_WIRE_ID: i64 = 9_007_199_254_740_991;

/// The numeric form of a configured id: a canonical positive integer (no
/// sign, no leading zero), so that the number on the wire prints back as the
/// very string of the file and the report.
pub(crate) fn wire_id(id: &str) -> Option<i64> {
    if id.is_empty() || id.starts_with('0') || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse::<i64>().ok().filter(|&n| n <= MAX_WIRE_ID)
}

impl TtlockConfig {
    /// Checks what [`super::Ttlock::new`] silently tolerates (it skips locks
    /// and gateways whose id is not numeric, and treats an unknown gateway
    /// as none): empty credentials, duplicate usernames or ids, non-numeric
    /// ids, unknown gateways, offsets outside -12 h..+14 h. Scenario loaders
    /// call this to refuse a bad file with a clear message.
    pub fn validate(&self) -> Result<(), StubError> {
        let invalid = |msg: String| Err(StubError::InvalidConfig(msg));
        if self.app.client_id.is_empty() || self.app.client_secret.is_empty() {
            return invalid("app has an empty client_id or client_secret".into());
        }
        let mut usernames = HashSet::new();
        for a in &self.accounts {
            if a.username.is_empty() || a.password.is_empty() {
                return invalid("an account has an empty username or password".into());
            }
            if !usernames.insert(a.username.as_str()) {
                return invalid(format!("duplicate account username {:?}", a.username));
            }
        }
        let mut gateway_ids = HashSet::new();
        for g in &self.gateways {
            if wire_id(&g.id).is_none() {
                return invalid(format!("gateway id {:?} must be a positive integer without leading zeros", g.id));
            }
            if !gateway_ids.insert(g.id.as_str()) {
                return invalid(format!("duplicate gateway id {:?}", g.id));
            }
        }
        let mut lock_ids = HashSet::new();
        for l in &self.locks {
            if wire_id(&l.id).is_none() {
                return invalid(format!("lock id {:?} must be a positive integer without leading zeros", l.id));
            }
            if !lock_ids.insert(l.id.as_str()) {
                return invalid(format!("duplicate lock id {:?}", l.id));
            }
            if let Some(g) = &l.gateway {
                if !gateway_ids.contains(g.as_str()) {
                    return invalid(format!("lock {:?} names unknown gateway {g:?}", l.id));
                }
            }
            if !(-720..=840).contains(&l.utc_offset_minutes) {
                return invalid(format!("lock {:?}: utc_offset_minutes must be from -720 to 840", l.id));
            }
        }
        Ok(())
    }
}
