//! Backup codes (R25): a property may keep up to 5 spare codes on its own
//! lock while the lock can be reached, each valid from now for 30 days and
//! moved forward before it has less than 7 days left. When a guest's code
//! cannot be put on the lock in time and the brand has no offline code, the
//! guest gets one of them as the fallback; its window is then narrowed to
//! the stay (a move, as R14 moves a guest's code), it takes the guest's
//! name, goes after check-out (R16) or at once on a cancellation (R15), and
//! the slot gets a fresh code.
//!
//! A slot is a [`BookingRecord`] of role [`Role::Backup`]: the lifecycle and
//! the tick carry out its writes like any code's; this module only sets
//! what each slot wants, when the pool changes ([`sync`]), when a slot's
//! own decision says so ([`replan`]) and when a guest gets or keeps one.

use crate::alert::BACKUP;
use crate::error::Result;
use crate::host::{Host, Level, Storage};
use crate::lifecycle::{backup_record_id, BookingRecord, Fallback, Placement, PoolReplan, Role, Target};
use crate::model::{Assignment, BookingFacts, PropertyFacts, BACKUP_CODES_RANGE};
use crate::schedule::{Instant, Plan};
use crate::store::Store;

/// How long a spare code is valid from when it is (re)made.
pub const SPARE_SECS: i64 = 30 * 86_400;

/// The placeholder facts of a slot nobody holds: no guest, no stay.
fn spare_facts(property: &str, slot: u32) -> BookingFacts {
    BookingFacts {
        id: format!("backup-{slot}"),
        property_id: property.to_string(),
        guest_name: None,
        check_in: "1970-01-01".into(),
        check_out: "1970-01-02".into(),
        check_in_time: None,
        check_out_time: None,
        confirmed: true,
    }
}

/// A spare code's target on `a`'s lock: valid from `now` for 30 days, never
/// alerted (the lifecycle skips alerts for slots).
fn spare_target(a: &Assignment, p: &PropertyFacts, now: Instant) -> Result<Target> {
    let zone = crate::schedule::Zone::parse("property.timezone", &p.timezone)?;
    Ok(spare_target_at(
        Placement {
            provider: a.provider,
            lock_id: a.lock_id.clone(),
            channel: a.channel.clone(),
            start: now,
            end: now + SPARE_SECS,
        },
        zone,
        a.lock_name.clone(),
        p.name.clone(),
        a.pin_rule.clone(),
    ))
}

fn spare_target_at(
    placement: Placement,
    timezone: crate::schedule::Zone,
    lock_name: String,
    property_name: String,
    pin_rule: Option<crate::pin::PinRule>,
) -> Target {
    let (start, end) = (placement.start, placement.end);
    Target {
        plan: Plan { create_at: start, window_start: start, window_end: end, retry_deadline: end, alert_at: end },
        placement,
        timezone,
        lock_name,
        property_name,
        pin_rule,
        siblings: Vec::new(),
    }
}

/// Makes `rec` a fresh spare code wanting `target` (a new PIN: the old one
/// was a guest's).
fn refresh(rec: &mut BookingRecord, property: &str, slot: u32, target: Target, now: Instant) {
    let mut fresh = BookingRecord::with_role(
        spare_facts(property, slot),
        Role::Backup { property_id: property.to_string(), slot, given_to: None },
    );
    fresh.timezone = Some(target.timezone);
    fresh.target = Some(target);
    fresh.eligible_at = Some(now);
    fresh.next_due = Some(now);
    // Keep what storage knows of the record (its indexes), and any code
    // still on its lock or on its way: the lifecycle moves or deletes it.
    fresh.indexed = std::mem::take(&mut rec.indexed);
    fresh.on_lock = rec.on_lock.take();
    fresh.job = rec.job.take();
    fresh.issued_on = rec.issued_on.take();
    fresh.pin = if fresh.on_lock.is_some() || fresh.job.is_some() { rec.pin.take() } else { None };
    *rec = fresh;
}

/// Retires a slot the pool no longer has: its code goes (as R15's).
fn retire(rec: &mut BookingRecord, now: Instant) {
    rec.facts.confirmed = false;
    rec.target = None;
    rec.retry_at = None;
    rec.next_due = Some(now);
}

/// Brings the property's pool in line with its setting and its own lock:
/// slots up to `backup_codes` are made or moved to the lock, the others
/// retired; a slot given to a guest is left to its guest. Called when the
/// assignment or the setting changes.
pub fn sync<H: Host + ?Sized>(host: &H, property_id: &str, now: Instant) -> Result<()> {
    let store = Store::new(host);
    let assignment = store.connected_assignment(property_id)?;
    let wanted = assignment.as_ref().map_or(0, |a| a.backup_codes);
    let property = store.property(property_id)?;
    for slot in 1..=*BACKUP_CODES_RANGE.end() {
        let id = backup_record_id(property_id, slot);
        let existing = store.booking(&id)?;
        let lock = match (&assignment, &property) {
            (Some(a), Some(p)) if slot <= wanted => Some((a, p)),
            _ => None,
        };
        let mut rec = match (existing, lock) {
            (None, None) => continue,
            (None, Some(_)) => BookingRecord::with_role(
                spare_facts(property_id, slot),
                Role::Backup { property_id: property_id.to_string(), slot, given_to: None },
            ),
            (Some(rec), _) => rec,
        };
        if matches!(rec.role, Role::Backup { given_to: Some(_), .. }) {
            continue; // the guest keeps it; the slot is looked at when it comes back
        }
        match lock {
            Some((a, p)) => {
                let on_lock = rec.target.as_ref().is_some_and(|t| {
                    t.placement.lock_id == a.lock_id && t.placement.provider == a.provider && rec.facts.confirmed
                });
                if on_lock {
                    continue;
                }
                refresh(&mut rec, property_id, slot, spare_target(a, p, now)?, now);
            }
            None if !rec.facts.confirmed => continue,
            None => retire(&mut rec, now),
        }
        store.save_booking(&mut rec, host.now(), Vec::new())?;
    }
    Ok(())
}

/// Carries out a slot's [`Decision::Replan`](crate::lifecycle::Decision):
/// a spare code with less than 7 days left is moved forward 30 days; a
/// slot whose guest's code is gone from the lock gets a fresh spare code if
/// the property's lock still has the slot in its pool, else it is retired.
/// Nothing is written: the change rides with the slot's next save.
pub fn replan<H: Host + ?Sized>(host: &H, rec: &mut BookingRecord, why: PoolReplan, now: Instant) -> Result<()> {
    let Role::Backup { property_id, slot, given_to } = rec.role.clone() else { return Ok(()) };
    let Some(t) = rec.target.clone() else { return Ok(()) };
    match why {
        PoolReplan::MoveForward => {
            let placement = Placement { start: now, end: now + SPARE_SECS, ..t.placement };
            let target = spare_target_at(placement, t.timezone, t.lock_name, t.property_name, t.pin_rule);
            rec.target = Some(target);
            rec.eligible_at = Some(now);
            rec.retry_at = None;
            rec.attempts_failed = 0;
        }
        PoolReplan::BackFromGuest => {
            // The lock still has the slot in its pool.
            let lock = Store::new(host)
                .connected_assignment(&property_id)?
                .filter(|a| a.lock_id == t.placement.lock_id && a.backup_codes >= slot);
            let booking = given_to.unwrap_or_default();
            host.log(
                Level::Info,
                &format!("backup code {slot} of property {property_id} is back from booking {booking}"),
            );
            match lock {
                Some(a) => {
                    let placement = Placement { start: now, end: now + SPARE_SECS, ..t.placement };
                    let target = spare_target_at(placement, t.timezone, a.lock_name, t.property_name, a.pin_rule);
                    refresh(rec, &property_id, slot, target, now);
                }
                None => {
                    rec.role = Role::Backup { property_id, slot, given_to: None };
                    retire(rec, now);
                }
            }
        }
    }
    Ok(())
}

/// R25: gives the guest of `rec` (whose own code is not on the lock) a
/// spare code of the pool on the same lock, if one is on it: the slot wants
/// the stay's window from now on, under the guest's name, and the booking
/// gets it as its fallback. The slot is saved first, so a slot is never
/// given to two bookings.
pub fn give<H: Host + ?Sized>(host: &H, rec: &mut BookingRecord, now: Instant) -> Result<()> {
    let Some(t) = rec.target.clone() else { return Ok(()) };
    let store = Store::new(host);
    let count = store.assignment(&rec.facts.property_id)?.map_or(0, |a| a.backup_codes);
    for slot in 1..=count {
        let Some(mut spare) = store.booking(&backup_record_id(&rec.facts.property_id, slot))? else { continue };
        let free = matches!(spare.role, Role::Backup { given_to: None, .. }) && spare.facts.confirmed;
        let Some(code) =
            spare.on_lock.clone().filter(|c| free && spare.job.is_none() && c.placement.lock_id == t.placement.lock_id)
        else {
            continue;
        };
        spare.role =
            Role::Backup { property_id: rec.facts.property_id.clone(), slot, given_to: Some(rec.facts.id.clone()) };
        spare.facts = slot_facts(rec, &rec.facts.property_id);
        follow_stay(&mut spare, &t, now);
        store.save_booking(&mut spare, host.now(), Vec::new())?;
        host.log(Level::Warn, &format!("booking {} gets backup code {slot} instead (R25)", rec.facts.id));
        rec.fallback = Some(Fallback {
            kind: BACKUP.into(),
            pin: code.pin,
            provider: t.placement.provider,
            lock_id: t.placement.lock_id.clone(),
            start: t.placement.start,
            end: t.placement.end,
            code_id: None,
            revocable: true,
            first_use_within_secs: None,
            issued_at: now,
            property_name: t.property_name.clone(),
            stay_end: t.placement.end,
            notice_sent: false,
            backup: Some(spare.record_id()),
        });
        store.save_booking(rec, host.now(), Vec::new())?;
        return Ok(());
    }
    Ok(())
}

/// A given slot's facts: its guest's, in the pool's property (a booking
/// moved elsewhere no longer holds it).
fn slot_facts(rec: &BookingRecord, pool_property: &str) -> BookingFacts {
    BookingFacts {
        property_id: pool_property.to_string(),
        confirmed: rec.facts.confirmed && rec.facts.property_id == pool_property,
        ..rec.facts.clone()
    }
}

/// The given slot wants the stay's window (narrowed from its 30 days).
fn follow_stay(spare: &mut BookingRecord, stay: &Target, now: Instant) {
    let target = Target { siblings: Vec::new(), ..stay.clone() };
    if spare.target.as_ref() != Some(&target) {
        spare.timezone = Some(target.timezone);
        spare.target = Some(target);
        spare.eligible_at = Some(now);
        spare.retry_at = None;
        spare.attempts_failed = 0;
        spare.next_due = Some(now);
    }
}

/// While planning a booking holding a backup code (R25): the code follows
/// the stay's new window, and goes when the booking is cancelled (R15).
/// Returns the slot's record when it changed (to be saved with the booking).
pub fn follow<S: Storage + ?Sized>(
    store: &Store<'_, S>,
    rec: &mut BookingRecord,
    now: Instant,
) -> Result<Option<BookingRecord>> {
    let Some(id) = rec.fallback.as_ref().and_then(|fb| fb.backup.clone()) else { return Ok(None) };
    let Some(mut spare) = store.booking(&id)? else { return Ok(None) };
    let Role::Backup { property_id, given_to: Some(holder), .. } = spare.role.clone() else { return Ok(None) };
    if holder != rec.facts.id {
        return Ok(None);
    }
    let before = spare.clone();
    spare.facts = slot_facts(rec, &property_id);
    if !spare.facts.confirmed {
        // A cancelled booking's backup code goes at once (R15), as does one
        // of a booking moved to another property; the slot comes back to
        // the pool once it is gone ([`replan`]).
        if before.facts.confirmed {
            spare.retry_at = None;
            spare.next_due = Some(now);
        }
    } else if let Some(t) = &rec.target {
        follow_stay(&mut spare, t, now);
        if let Some(fb) = rec.fallback.as_mut() {
            (fb.start, fb.end, fb.stay_end) = (t.placement.start, t.placement.end, t.placement.end);
            // The property's lock changed: the code goes with the guest.
            (fb.provider, fb.lock_id) = (t.placement.provider, t.placement.lock_id.clone());
        }
    }
    Ok((spare != before).then_some(spare))
}
