//! `on-booking-changed` and `on-property-changed`: record the facts and
//! re-plan the affected codes (R7, R14, R15). No vendor call happens here;
//! the work is put on the due index for the next tick.

use crate::error::{PluginError, Result};
use crate::host::{Host, Storage};
use crate::lifecycle::{door_record_id, replan, replan_with, BookingRecord, DoorRef, Role, Sibling, ID_SEP};
use crate::model::{Assignment, BookingFacts, PropertyFacts, SharedDoor};
use crate::schedule::Instant;
use crate::store::{self, Store};

pub fn on_booking_changed<H: Host + ?Sized>(host: &H, booking: BookingFacts, property: PropertyFacts) -> Result<()> {
    booking.validate()?;
    property.validate("property.")?;
    if booking.property_id != property.id {
        return Err(PluginError::invalid("property.id", "must be the booking's property-id"));
    }
    let now = host.now();
    let store = Store::new(host);
    let settings = PropertyLocks::load(&store, &property.id)?;
    // A booking moved to another property follows that property's lock (the
    // property index is moved by the save, the old code deleted by the tick).
    let load = |booking: BookingFacts| -> Result<BookingRecord> {
        Ok(match store.booking(&booking.id)? {
            Some(mut rec) => {
                rec.facts = booking;
                rec
            }
            None => BookingRecord::new(booking),
        })
    };
    // Planned before anything is written: a booking that cannot be planned
    // is refused whole, the event's property facts included.
    let mut rec = load(booking)?;
    let others = plan_booking(&store, &mut rec, Some(&property), &settings, now)?.1;
    // The event carries the property as the host knows it now: a change
    // there re-plans the property's other bookings too (this one is planned
    // already, with these facts: once).
    let previous = store.property(&property.id)?;
    if previous.as_ref() != Some(&property) {
        change_property(host, &property, previous, &settings, Some(&rec.facts.id))?;
    }
    store.save_booking(&mut rec, host.now(), Vec::new())?;
    for mut other in others {
        store.save_booking(&mut other, host.now(), Vec::new())?;
    }
    Ok(())
}

pub fn on_property_changed<H: Host + ?Sized>(host: &H, property: PropertyFacts) -> Result<()> {
    property.validate("property.")?;
    let store = Store::new(host);
    let previous = store.property(&property.id)?;
    let settings = PropertyLocks::load(&store, &property.id)?;
    change_property(host, &property, previous, &settings, None)
}

/// Stores the property's facts (`previous`: as stored until now) and
/// re-plans its bookings with `settings`, but `planned` (a booking its
/// caller plans and saves itself).
fn change_property<H: Host + ?Sized>(
    host: &H,
    property: &PropertyFacts,
    previous: Option<PropertyFacts>,
    settings: &PropertyLocks,
    planned: Option<&str>,
) -> Result<()> {
    let store = Store::new(host);
    store.put(&store::property_key(&property.id), property)?;
    if let Err(e) = replan_bookings(host, &property.id, Some(property), settings, host.now(), planned) {
        // Refuse the whole change: put the old facts back.
        match previous {
            Some(p) => store.put(&store::property_key(&p.id), &p)?,
            None => store.delete(&store::property_key(&property.id))?,
        }
        return Err(e);
    }
    Ok(())
}

/// What a property's bookings' codes are planned with: its own lock while
/// its brand is connected, and its shared doors whose brands are connected
/// (R26). The backup pool (R25) is planned by `pool`.
pub struct PropertyLocks {
    pub assignment: Option<Assignment>,
    pub doors: Vec<SharedDoor>,
}

impl PropertyLocks {
    /// One read of the property's extras besides its assignment's.
    pub fn load<S: Storage + ?Sized>(store: &Store<'_, S>, property: &str) -> Result<PropertyLocks> {
        let assignment = store.connected_assignment(property)?;
        let extras = store.extras(property)?;
        let mut doors = Vec::with_capacity(extras.doors.len());
        for d in extras.doors {
            if store.connection(d.provider)?.is_some() {
                doors.push(d);
            }
        }
        Ok(PropertyLocks { assignment, doors })
    }
}

/// Plans a booking's own-lock record `rec` and its shared doors' records
/// (R26): every door gets the booking's window with the own lock's days
/// and margin; a door no longer shared is planned without a lock, so R17
/// applies to it as to the own lock. Returns whether `rec` changed and the
/// door records that did (to be saved), nothing written.
pub fn plan_booking<S: Storage + ?Sized>(
    store: &Store<'_, S>,
    rec: &mut BookingRecord,
    property: Option<&PropertyFacts>,
    settings: &PropertyLocks,
    now: Instant,
) -> Result<(bool, Vec<BookingRecord>)> {
    let assignment = settings.assignment.as_ref();
    let booking = rec.facts.id.clone();
    let own =
        assignment.map(|a| Sibling { record: booking.clone(), lock_id: a.lock_id.clone(), pin_rule: a.pin_rule() });
    let doors: Vec<(Assignment, Sibling)> = settings
        .doors
        .iter()
        .map(|d| {
            let a = d.as_assignment(assignment);
            let s = Sibling {
                record: door_record_id(&booking, d.provider, &d.lock_id),
                lock_id: d.lock_id.clone(),
                pin_rule: a.pin_rule(),
            };
            (a, s)
        })
        .collect();
    let sibling_doors = || doors.iter().map(|(_, s)| s.clone());
    let mut changed = replan_with(rec, property, assignment, sibling_doors().collect(), now)?;
    // A backup code the booking holds follows its stay (R25).
    let mut out: Vec<BookingRecord> = crate::pool::follow(store, rec, now)?.into_iter().collect();
    changed |= !out.is_empty();
    if doors.is_empty() && rec.doors.is_empty() {
        // The common case: the own lock only, planned as always.
        return Ok((changed, out));
    }
    for (a, sibling) in &doors {
        let others: Vec<Sibling> =
            own.clone().into_iter().chain(sibling_doors().filter(|s| s.record != sibling.record)).collect();
        let role = Role::Door { provider: a.provider, lock_id: a.lock_id.clone(), name: a.lock_name.clone() };
        let mut door = load_door(store, rec, role.clone())?;
        // The door's name as last listed (events and messages show it).
        let renamed = door.role != role;
        door.role = role;
        if replan_with(&mut door, property, Some(a), others, now)? || renamed {
            out.push(door);
        }
        let door_ref = DoorRef { provider: a.provider, lock_id: a.lock_id.clone() };
        if !rec.doors.contains(&door_ref) {
            rec.doors.push(door_ref);
            changed = true;
        }
    }
    // Doors no longer shared: their codes follow R17 (planned with no lock).
    for r in rec.doors.clone() {
        if doors.iter().any(|(a, _)| a.provider == r.provider && a.lock_id == r.lock_id) {
            continue;
        }
        let Some(mut door) = store.booking(&door_record_id(&booking, r.provider, &r.lock_id))? else { continue };
        door.facts = rec.facts.clone();
        if replan(&mut door, property, None, now)? {
            out.push(door);
        }
    }
    Ok((changed, out))
}

/// The booking's record on a shared door, its facts the booking's.
fn load_door<S: Storage + ?Sized>(store: &Store<'_, S>, rec: &BookingRecord, role: Role) -> Result<BookingRecord> {
    let id = BookingRecord::with_role(rec.facts.clone(), role.clone()).record_id();
    Ok(match store.booking(&id)? {
        Some(mut door) => {
            door.facts = rec.facts.clone();
            door
        }
        None => BookingRecord::with_role(rec.facts.clone(), role),
    })
}

/// Re-plans every booking of the property from the stored facts. All plans
/// are computed first; records are written only if every one succeeded.
pub fn replan_property<H: Host + ?Sized>(host: &H, property_id: &str, now: Instant) -> Result<()> {
    let store = Store::new(host);
    let property = store.property(property_id)?;
    let settings = PropertyLocks::load(&store, property_id)?;
    replan_bookings(host, property_id, property.as_ref(), &settings, now, None)
}

/// Re-plans the property's bookings with these facts and locks, but the
/// booking `planned`, if any.
fn replan_bookings<H: Host + ?Sized>(
    host: &H,
    property_id: &str,
    property: Option<&PropertyFacts>,
    settings: &PropertyLocks,
    now: Instant,
    planned: Option<&str>,
) -> Result<()> {
    let store = Store::new(host);
    let mut changed = Vec::new();
    for id in store.bookings_of_property(property_id)? {
        // Doors' records are planned with their booking's; the backup pool
        // by its own module.
        if id.contains(ID_SEP) || planned == Some(id.as_str()) {
            continue;
        }
        let Some(mut rec) = store.booking(&id)? else { continue };
        if rec.facts.property_id != property_id {
            continue;
        }
        let (own, doors) = plan_booking(&store, &mut rec, property, settings, now)?;
        if own {
            changed.push(rec);
        }
        changed.extend(doors);
    }
    for mut rec in changed {
        store.save_booking(&mut rec, host.now(), Vec::new())?;
    }
    Ok(())
}
