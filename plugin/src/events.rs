//! `on-booking-changed` and `on-property-changed`: record the facts and
//! re-plan the affected codes (R7, R14, R15). No vendor call happens here;
//! the work is put on the due index for the next tick.

use crate::error::{PluginError, Result};
use crate::host::Host;
use crate::lifecycle::{replan, BookingRecord};
use crate::model::{BookingFacts, PropertyFacts};
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
    let assignment = store.connected_assignment(&property.id)?;
    let assignment = assignment.as_ref();
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
    let mut rec = load(booking.clone())?;
    replan(&mut rec, Some(&property), assignment, now)?;
    // The event carries the property as the host knows it now: a change
    // there re-plans the property's other bookings too, this one as stored
    // among them, so it is loaded and planned again on top of that.
    if store.property(&property.id)?.as_ref() != Some(&property) {
        on_property_changed(host, property.clone())?;
        rec = load(booking)?;
        replan(&mut rec, Some(&property), assignment, now)?;
    }
    store.save_booking(&mut rec, host.now(), Vec::new())?;
    Ok(())
}

pub fn on_property_changed<H: Host + ?Sized>(host: &H, property: PropertyFacts) -> Result<()> {
    property.validate("property.")?;
    let store = Store::new(host);
    let previous = store.property(&property.id)?;
    store.put(&store::property_key(&property.id), &property)?;
    if let Err(e) = replan_property(host, &property.id, host.now()) {
        // Refuse the whole change: put the old facts back.
        match previous {
            Some(p) => store.put(&store::property_key(&p.id), &p)?,
            None => store.delete(&store::property_key(&property.id))?,
        }
        return Err(e);
    }
    Ok(())
}

/// Re-plans every booking of the property from the stored facts. All plans
/// are computed first; records are written only if every one succeeded.
pub fn replan_property<H: Host + ?Sized>(host: &H, property_id: &str, now: Instant) -> Result<()> {
    let store = Store::new(host);
    let property = store.property(property_id)?;
    let assignment = store.connected_assignment(property_id)?;
    let mut changed = Vec::new();
    for id in store.bookings_of_property(property_id)? {
        let Some(mut rec) = store.booking(&id)? else { continue };
        if rec.facts.property_id != property_id {
            continue;
        }
        if replan(&mut rec, property.as_ref(), assignment.as_ref(), now)? {
            changed.push(rec);
        }
    }
    for mut rec in changed {
        store.save_booking(&mut rec, host.now(), Vec::new())?;
    }
    Ok(())
}
