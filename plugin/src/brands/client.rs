//! The seam between the core and a brand's client: the [`Vendor`] trait
//! (connect and verify, list locks, create a code, move it in place where
//! the brand can, delete it, confirm where it stands), the [`Capabilities`]
//! the lifecycle plans with, and the errors in words a manager can act on.

use serde::{Deserialize, Serialize};

use crate::host::HttpError;
use crate::pin::PinRule;
use crate::schedule::Instant;

/// How codes reach a lock from the brand's cloud (R3), as data: the kind of
/// link (`bridge`, `keypad`, `gateway`, `wifi`, `cloud`, ...) and the device
/// carrying it when that is not the lock itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredRemote")]
pub struct Remote {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// 0.2 stored the remote path as a closed enum (`{"bridge": "EB1"}`,
/// `"keypad"`, `{"gateway": "G"}`, `"wifi"`): still readable.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredRemote {
    Current {
        kind: String,
        #[serde(default)]
        via: Option<String>,
    },
    Direct(String),
    Through(std::collections::BTreeMap<String, String>),
}

impl From<StoredRemote> for Remote {
    fn from(s: StoredRemote) -> Self {
        match s {
            StoredRemote::Current { kind, via } => Remote { kind, via },
            StoredRemote::Direct(kind) => Remote { kind, via: None },
            StoredRemote::Through(map) => {
                let (kind, via) = map.into_iter().next().unwrap_or_default();
                Remote { kind, via: Some(via) }
            }
        }
    }
}

impl Remote {
    pub fn direct(kind: &str) -> Remote {
        Remote { kind: kind.to_string(), via: None }
    }

    pub fn through(kind: &str, device: &str) -> Remote {
        Remote { kind: kind.to_string(), via: Some(device.to_string()) }
    }
}

/// A lock as the brand lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    pub id: String,
    pub name: String,
    /// `None`: codes cannot reach it; [`LockInfo::needs`] or
    /// [`Capabilities::needs`] says what it lacks.
    pub remote: Option<Remote>,
    /// What this lock lacks, where the brand knows better than its general
    /// [`Capabilities::needs`] (e.g. "a keypad", "a subscription").
    pub needs: Option<String>,
    /// The lock's own PIN rule, where the brand reports one per lock.
    pub pin_rule: Option<PinRule>,
}

impl LockInfo {
    /// What serialises writes to this lock: its bridge or gateway, else the
    /// lock itself.
    pub fn channel(&self) -> Option<String> {
        let remote = self.remote.as_ref()?;
        Some(remote.via.clone().unwrap_or_else(|| self.id.clone()))
    }
}

/// How a vendor confirms that a write reached the lock (R11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// A queued job whose status is polled (igloohome).
    Job,
    /// The write is accepted, then confirmed from the code listing (Nuki).
    Listing,
    /// The call returns once the lock has it (TTLock through the gateway).
    Synchronous,
}

/// What the lifecycle needs to know about a vendor.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    /// The brand's PIN rule (R8 applies on top); a lock may report its own
    /// ([`LockInfo::pin_rule`]).
    pub pin_rule: fn() -> PinRule,
    pub confirmation: Confirmation,
    /// Whether a code can be moved to a new window in place (R14).
    pub moves_in_place: bool,
    /// Whether a write the brand accepted but has not yet confirmed already
    /// names the code at the brand (the handle of [`Submitted::Pending`] is
    /// the code's id), and the brand takes a move or delete of that code at
    /// once. A change of plan is then sent while the write is unconfirmed,
    /// instead of waiting for a confirmation that may come only near the
    /// stay's start (or never) while the old code stays due to reach the lock.
    pub amends_unconfirmed: bool,
    /// Whether codes on a lock can be listed, so that a write whose outcome
    /// is unknown is resolved by looking instead of by undoing it.
    pub lists_codes: bool,
    /// Writes in flight at once on one channel (bridge, lock, gateway).
    pub channel_capacity: u32,
    /// Where the brand limits how many writes a channel takes in a span of
    /// time (Seam: 10 a minute per device), whether or not they are still
    /// in flight: writes beyond it wait. `None`: only
    /// [`Capabilities::channel_capacity`] paces them.
    pub write_budget: Option<WriteBudget>,
    /// How long one write takes on its channel.
    pub write_secs: i64,
    /// A queued write the channel has not started this long after it was
    /// queued may be dropped by the brand (igloohome: about 2 minutes); a
    /// write still pending after that is looked at less often.
    pub queue_expiry_secs: i64,
    /// Longest name the lock's code list takes.
    pub max_name_chars: usize,
    /// What a lock without a remote path needs, e.g. "a bridge".
    pub needs: &'static str,
    /// Where the manager fixes a missing remote path, e.g. "the igloohome app".
    pub app: &'static str,
    /// What links the lock to the cloud, for the alert's advice, e.g.
    /// "the lock's bridge is plugged in and online in the igloohome app".
    pub link_check: &'static str,
    /// Another way in when the code cannot be made in time.
    pub fallback: &'static str,
    /// What the manager types to connect, and where it comes from, e.g.
    /// "the Client ID and Client Secret from the igloohome developer portal".
    pub credentials: &'static str,
}

/// At most `writes` writes on one channel in any `window_secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteBudget {
    pub writes: u32,
    pub window_secs: i64,
}

/// One code as the vendor is asked to hold it. Instants are absolute; each
/// client formats them as its API wants (local RFC 3339, UTC, epoch ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSpec<'a> {
    pub lock_id: &'a str,
    pub channel: &'a str,
    pub pin: &'a str,
    /// Guest and booking, for the lock's code list.
    pub name: &'a str,
    pub start: Instant,
    pub end: Instant,
    /// The property's zone (igloohome wants local offsets).
    pub timezone: chrono_tz::Tz,
    /// The vendor's id of the code, for moves and deletes (Nuki, TTLock).
    pub code_id: Option<&'a str>,
}

/// A code the brand's cloud computes and the lock checks by itself, with no
/// bridge or gateway (R24): the guest's fallback when the regular code could
/// not be put on the lock in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineCode {
    pub pin: String,
    /// The window the lock applies (the booking's, rounded outward to the
    /// brand's granularity).
    pub start: Instant,
    pub end: Instant,
    /// The brand's id of the code, if it gives one.
    pub code_id: Option<String>,
    /// Whether the brand can withdraw it; if not, it opens the door until
    /// its end whatever happens to the booking.
    pub revocable: bool,
    /// The guest must type it once within this long after its start, or the
    /// lock refuses it for good.
    pub first_use_within_secs: Option<i64>,
}

/// The answer to a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// Accepted, not yet on the lock: confirm later with this handle (a job
    /// id; empty where the vendor gives none).
    Pending(String),
    /// On the lock now (the vendor's id of the code, if any).
    Done(Option<String>),
}

/// Where a pending write stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    Pending,
    /// Accepted and held by the brand, which puts it on the lock only at
    /// this instant (Seam loads most time-bound codes 72 h before their
    /// start): not on the lock yet, and not a lost write either; looked at
    /// again then.
    Deferred(Instant),
    /// Carried out; the vendor's id of the code, if any.
    Done(Option<String>),
    /// Counts as carried out now, but the brand programs the lock itself
    /// later (a just-in-time device): looked at again at this instant, and a
    /// failure then is treated as the code never having reached the lock (R29).
    Provisional(Option<String>, Instant),
    /// Not carried out (job failed, write lost or refused): retried hourly.
    Failed(String),
    /// Not carried out because the lock, or its link to the cloud, is down
    /// as the brand reports it: retried hourly like [`Confirmed::Failed`],
    /// and the lock counts as unreachable (R28). A write refused for any
    /// other reason is `Failed` and says nothing of the lock's health.
    Unreachable(String),
    /// Not carried out because the PIN is already on the lock: a new PIN at once.
    PinTaken(String),
}

/// A code found on the lock's listing (resolving an unknown outcome).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Absent,
    /// Listed, but a write on it is still under way.
    Pending(String),
    /// Listed with the window asked for.
    OnLock(String),
    /// Listed with another window (a move that did not happen).
    OtherWindow(String),
}

/// What went wrong talking to a vendor, in words a property manager can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VendorError {
    /// The credentials were refused.
    #[error("{brand} refused the credentials ({detail})")]
    Unauthorized { brand: &'static str, detail: String },
    /// The vendor refused the request for good (nothing happened).
    #[error("{brand} refused the request: {message}")]
    Rejected { brand: &'static str, message: String },
    /// The bridge, gateway or lock is offline (nothing happened).
    #[error("{0}")]
    Offline(String),
    /// The channel is busy with another write: try again soon.
    #[error("{0}")]
    Busy(String),
    /// The PIN is already on the lock: another PIN at once (R8).
    #[error("the PIN is already used on the lock ({0})")]
    PinTaken(String),
    /// Too many requests; try again later.
    #[error("{brand} asked to slow down")]
    RateLimited { brand: &'static str, retry_after_secs: Option<i64> },
    /// No usable answer (5xx, timeout, connection failure): whether the
    /// request had an effect is unknown.
    #[error("{brand} did not answer properly: {detail}")]
    Unavailable { brand: &'static str, detail: String },
    /// A success answer whose body is not what the API documents (outcome unknown).
    #[error("{brand} sent a malformed response: {detail}")]
    Malformed { brand: &'static str, detail: String },
    /// No usable access token, so the request itself was never sent.
    #[error("{brand} issued no access token: {detail}")]
    NoToken { brand: &'static str, detail: String },
    /// The host refused the request (allow-list) or the storage failed.
    #[error("{0}")]
    Host(String),
}

/// A vendor's sentence without its technical part in parentheses: "the
/// bridge is offline or unreachable (HTTP 503 ...)" reads "the bridge is
/// offline or unreachable".
pub fn plain(sentence: &str) -> &str {
    sentence.split(" (").next().unwrap_or(sentence)
}

impl VendorError {
    /// One sentence for a property manager: what happened and what to do.
    /// The technical detail (`Display`) is for the log only.
    pub fn for_manager(&self, caps: &Capabilities) -> String {
        match self {
            VendorError::Unauthorized { detail, .. } => {
                format!("{}; check {} and connect again", plain(detail), caps.credentials)
            }
            VendorError::NoToken { brand, .. } => format!(
                "{brand} did not let the plugin sign in; the code is tried again every hour, and if this lasts, \
                 connect the {brand} account again"
            ),
            VendorError::Offline(what) => {
                format!("{}: check that {}; the code is tried again every hour", plain(what), caps.link_check)
            }
            VendorError::Busy(what) => format!("{}; the code is tried again in a minute", plain(what)),
            VendorError::PinTaken(_) => "the PIN was already in use on the lock; another PIN is being set".into(),
            VendorError::RateLimited { brand, .. } => {
                format!("{brand} asked the plugin to slow down; the code is tried again shortly")
            }
            VendorError::Unavailable { brand, .. } | VendorError::Malformed { brand, .. } => {
                format!("{brand} did not answer as expected; the code is tried again every hour")
            }
            VendorError::Rejected { brand, .. } => {
                format!("{brand} turned the code down; it is tried again every hour, and the host's log has the reason")
            }
            VendorError::Host(_) => {
                "the host could not reach the lock vendor; the code is tried again every hour".into()
            }
        }
    }

    /// Whether a request that failed this way may still have been carried
    /// out (so it must be resolved before it is sent again).
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, VendorError::Unavailable { .. } | VendorError::Malformed { .. })
    }

    /// The transport error of a request to `brand`.
    pub fn from_http(brand: &'static str, e: HttpError) -> Self {
        match e {
            HttpError::Forbidden(m) => VendorError::Host(format!("the host refused the request: {m}")),
            HttpError::Timeout => VendorError::Unavailable { brand, detail: "no answer in time".into() },
            HttpError::TooLarge(n) => {
                VendorError::Malformed { brand, detail: format!("response larger than {n} bytes") }
            }
            HttpError::Transport(m) => VendorError::Unavailable { brand, detail: m },
        }
    }

    pub fn host(e: crate::host::StorageError) -> Self {
        VendorError::Host(e.to_string())
    }
}

/// A vendor's cloud API, one client per tick or admin call.
pub trait Vendor {
    fn capabilities(&self) -> &'static Capabilities;
    /// Requests made so far (the tick's budget and summary).
    fn requests(&self) -> u32;
    /// Checks the credentials with the vendor and returns the account's name
    /// (R1): a token is issued where the vendor issues one.
    fn verify(&mut self) -> Result<Option<String>, VendorError>;
    /// Every lock of the account with its remote path (R3).
    fn locks(&mut self) -> Result<Vec<LockInfo>, VendorError>;
    fn create(&mut self, code: &CodeSpec) -> Result<Submitted, VendorError>;
    /// Moves a code to `code`'s window in place, same PIN (R14); only
    /// called where [`Capabilities::moves_in_place`].
    fn update(&mut self, code: &CodeSpec) -> Result<Submitted, VendorError>;
    fn delete(&mut self, code: &CodeSpec) -> Result<Submitted, VendorError>;
    /// Where a pending write stands. `op` is what was sent (create,
    /// update or delete) and `handle` what [`Submitted::Pending`] gave.
    fn confirm(&mut self, op: Op, code: &CodeSpec, handle: &str) -> Result<Confirmed, VendorError>;
    /// Looks for the PIN on the lock's listing; only called where
    /// [`Capabilities::lists_codes`].
    fn find(&mut self, code: &CodeSpec) -> Result<Found, VendorError>;
    /// An offline code for `code`'s lock and window (R24), or `None` where
    /// the brand (or this lock) has none. Asking twice for the same window
    /// gives the same code.
    fn offline_code(&mut self, code: &CodeSpec) -> Result<Option<OfflineCode>, VendorError> {
        let _ = code;
        Ok(None)
    }
}

/// What a write does to a code on a lock: create it, move it in place (same
/// PIN, new window), or delete it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Create,
    Update,
    Delete,
}

#[cfg(test)]
mod manager_sentences {
    use super::*;

    #[test]
    fn vendor_failures_read_as_one_plain_sentence_with_what_to_do() {
        let caps = &crate::brands::igloohome::BRAND.capabilities;
        let cases = [
            VendorError::Unauthorized {
                brand: "igloohome",
                detail: "the Client ID or Client Secret is wrong (HTTP 401: invalid_client)".into(),
            },
            VendorError::Offline("the bridge is offline or unreachable (HTTP 503: gateway timeout)".into()),
            VendorError::Unavailable { brand: "igloohome", detail: "HTTP 502 after 3.2 s".into() },
            VendorError::Malformed { brand: "igloohome", detail: "missing field `jobId`".into() },
            VendorError::RateLimited { brand: "igloohome", retry_after_secs: Some(30) },
            VendorError::Rejected { brand: "igloohome", message: "E4002 invalid duration".into() },
        ];
        for e in cases {
            let s = e.for_manager(caps);
            for technical in ["HTTP", "invalid_client", "503", "jobId", "E4002", "(", "\n"] {
                assert!(!s.contains(technical), "{s:?} shows {technical:?}");
            }
            assert!(s.contains("check") || s.contains("tried again"), "says what to do: {s:?}");
        }
        let offline = VendorError::Offline("the bridge is offline or unreachable (HTTP 503)".into()).for_manager(caps);
        assert_eq!(
            offline,
            "the bridge is offline or unreachable: check that the lock's bridge is plugged in and online in the \
             igloohome app; the code is tried again every hour"
        );
    }
}
