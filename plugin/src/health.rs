//! Lock health (R28): a lock with codes due soon that its brand reports
//! unreachable (its link to the cloud, or the lock, offline) gets one `lock-unreachable`
//! event per outage, with how many bookings it puts at risk, and one
//! `lock-reachable` event when a write reaches it again. No e-mail: R12's
//! alert stays the one per booking.
//!
//! Stored under `health/{brand}/{lock}`: since when it is unreachable (none
//! while reachable) and the lock's event sequence, so event ids stay unique.
//! The record and its event are written in one batch.

use serde::{Deserialize, Serialize};

use crate::brands::BrandId;
use crate::host::{Storage, StorageError};
use crate::lifecycle::{BookingRecord, Role};
use crate::model::{Assignment, PropertyExtras};
use crate::notify;
use crate::schedule::Instant;
use crate::status::{CodeEvent, EventKind};
use crate::store::{self, Store};

/// Codes due within this long put a lock's bookings "at risk" (R28).
pub const AT_RISK_WITHIN_SECS: i64 = 3 * 86_400;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHealth {
    /// Unreachable since then; `None` while reachable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreachable_since: Option<Instant>,
    /// Events this lock has queued so far.
    #[serde(default)]
    pub seq: u64,
}

/// Where every lock's health record is kept.
pub const KEY_ROOT: &str = "health/";

fn key(brand: BrandId, lock: &str) -> String {
    format!("{KEY_ROOT}{}/{}", brand.id(), store::esc(lock))
}

/// The lock's health record (default: reachable, no events yet).
pub fn of<S: Storage + ?Sized>(storage: &S, brand: BrandId, lock: &str) -> Result<LockHealth, StorageError> {
    Ok(Store::new(storage).get::<LockHealth>(&key(brand, lock))?.unwrap_or_default())
}

/// The bookings on this lock whose code is due within [`AT_RISK_WITHIN_SECS`]
/// and not on the lock yet.
fn at_risk<S: Storage + ?Sized>(storage: &S, brand: BrandId, lock: &str, now: Instant) -> Result<u32, StorageError> {
    let store = Store::new(storage);
    // The properties with this lock: as their own, or as a shared door (R26).
    let mut properties = Vec::new();
    for asg_key in store.keys_with_prefix("asg/")? {
        let Some(a) = store.get::<Assignment>(&asg_key)? else { continue };
        if a.provider == brand && a.lock_id == lock {
            properties.push(a.property_id);
        }
    }
    for key in store.keys_with_prefix(store::EXTRAS_PREFIX)? {
        let Some(extras) = store.get::<PropertyExtras>(&key)? else { continue };
        if let Some(d) = extras.doors.iter().find(|d| d.is(brand, lock)) {
            properties.push(d.property_id.clone());
        }
    }
    let mut n = 0u32;
    for property in properties {
        for id in store.bookings_of_property(&property)? {
            let Some(rec) = store.get::<BookingRecord>(&store::booking_key(&id))? else { continue };
            let due_soon = rec.target.as_ref().is_some_and(|t| {
                t.placement.lock_id == lock && t.placement.start <= now + AT_RISK_WITHIN_SECS && now < t.placement.end
            });
            // A spare backup code (R25) is nobody's stay.
            let spare = matches!(rec.role, Role::Backup { given_to: None, .. });
            if due_soon && !spare && rec.facts.confirmed && rec.on_lock.is_none() {
                n += 1;
            }
        }
    }
    Ok(n)
}

/// The lock could not be reached for a code due at `due`: the first time in
/// an outage, and only for a code due soon, one `lock-unreachable` event.
pub fn unreachable<S: Storage + ?Sized>(
    storage: &S,
    brand: BrandId,
    lock: &str,
    due: Instant,
    reason: &str,
    now: Instant,
) -> Result<(), StorageError> {
    if due > now + AT_RISK_WITHIN_SECS {
        return Ok(());
    }
    let mut health = of(storage, brand, lock)?;
    if health.unreachable_since.is_some() {
        return Ok(());
    }
    let risk = at_risk(storage, brand, lock, now)?.max(1);
    health.unreachable_since = Some(now);
    let detail = format!(
        "{}: {risk} booking{} with a code due within 3 days {} at risk",
        crate::brands::plain(reason),
        if risk == 1 { "" } else { "s" },
        if risk == 1 { "is" } else { "are" }
    );
    save_with_event(storage, brand, lock, health, EventKind::LockUnreachable, Some(risk), detail, now)
}

/// A write reached the lock: if it was unreachable, one `lock-reachable` event.
pub fn reachable<S: Storage + ?Sized>(
    storage: &S,
    brand: BrandId,
    lock: &str,
    now: Instant,
) -> Result<(), StorageError> {
    let mut health = of(storage, brand, lock)?;
    if health.unreachable_since.is_none() {
        return Ok(());
    }
    health.unreachable_since = None;
    let detail = "the lock can be reached again; waiting codes are being written".to_string();
    save_with_event(storage, brand, lock, health, EventKind::LockReachable, None, detail, now)
}

#[allow(clippy::too_many_arguments)] // one event's fields
fn save_with_event<S: Storage + ?Sized>(
    storage: &S,
    brand: BrandId,
    lock: &str,
    mut health: LockHealth,
    kind: EventKind,
    at_risk: Option<u32>,
    detail: String,
    now: Instant,
) -> Result<(), StorageError> {
    let scope = format!("lock:{}:{lock}", brand.id());
    let event = CodeEvent {
        id: format!("{scope}:{}", health.seq),
        at: now,
        kind,
        booking_id: None,
        property_id: None,
        brand: Some(brand.id().to_string()),
        door: None,
        lock_id: Some(lock.to_string()),
        at_risk,
        detail,
    };
    let queued = notify::queue(&scope, health.seq, &event)?;
    health.seq += 1;
    storage.apply(vec![store::set(&key(brand, lock), &health)?, queued])
}
