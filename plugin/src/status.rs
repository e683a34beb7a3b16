//! What the outside sees of a code: its state (the panel's status, R27's
//! events) and the events themselves. Plain data, no logic.

use serde::{Deserialize, Serialize};

use crate::schedule::Instant;

/// Where a booking's code is in its life, as the panel and the code events
/// (R27) show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeState {
    None,
    Scheduled,
    Creating,
    OnLock,
    Moving,
    Deleting,
    Retrying,
    Failed,
    Removed,
    LeftToExpire,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Scheduled,
    Writing,
    OnLock,
    Moved,
    Retrying,
    Failed,
    Fallback,
    AlertSent,
    Deleted,
    LockUnreachable,
    LockReachable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeEvent {
    /// `{scope}:{sequence}`: stable, unique per tenant.
    pub id: String,
    pub at: Instant,
    pub kind: EventKind,
    pub booking_id: Option<String>,
    pub property_id: Option<String>,
    /// The brand's id.
    pub brand: Option<String>,
    pub lock_id: Option<String>,
    /// The door's name when the lock is a shared door of the property (R26).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door: Option<String>,
    pub at_risk: Option<u32>,
    pub detail: String,
}

/// What a booking last reported, kept in its record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reported {
    pub state: Option<CodeState>,
    pub lock: Option<String>,
    pub window: Option<(Instant, Instant)>,
    pub attempts: u32,
    pub alert_sent: bool,
    #[serde(default)]
    pub fallback: bool,
    /// Events this booking has queued so far (the next id's sequence).
    pub seq: u64,
}
