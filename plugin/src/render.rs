//! Message variables (R19).

use crate::host::Host;
use crate::lifecycle::BookingRecord;
use crate::schedule::Instant;
use crate::store::Store;

/// Names this plugin answers; `nuki_code` is the legacy alias.
pub const CODE_VARIABLES: [&str; 2] = ["smartlock_code", "nuki_code"];

/// The booking's PIN once it is on the lock (or being moved: the guest
/// already has it), or its fallback code (R24, R25). With shared doors
/// (R26): the one PIN when every door's renderable PIN is the same, else
/// each door's with its name, own lock first ("Front door: 482913,
/// Entrance: 190274"). `None` for unknown names, unknown bookings, bookings
/// without a code, and on any storage trouble (a message renders without
/// the variable rather than failing).
pub fn render_variable<H: Host + ?Sized>(host: &H, name: &str, booking_id: &str) -> Option<String> {
    if !CODE_VARIABLES.contains(&name) || booking_id.chars().any(char::is_control) {
        return None;
    }
    let store = Store::new(host);
    let rec = store.booking(booking_id).ok()??;
    if !rec.facts.confirmed {
        return None;
    }
    let now = host.now();
    // R24: the guest holds the fallback code from the moment it is issued.
    let own = match &rec.fallback {
        Some(fb) => Some(fb.pin.clone()),
        None => renderable_pin(&rec, now),
    };
    if rec.doors.is_empty() {
        return own;
    }
    let own_name = rec.target.as_ref().map_or("Own lock", |t| t.lock_name.as_str()).to_string();
    let mut shown: Vec<(String, String)> = own.map(|pin| (own_name, pin)).into_iter().collect();
    for door in store.door_records(&rec).ok()? {
        if let Some(pin) = renderable_pin(&door, now) {
            shown.push((door.role.door_name().unwrap_or("Door").to_string(), pin));
        }
    }
    let first = shown.first()?.1.clone();
    if shown.iter().all(|(_, pin)| *pin == first) {
        return Some(first);
    }
    Some(shown.iter().map(|(name, pin)| format!("{name}: {pin}")).collect::<Vec<_>>().join(", "))
}

/// A record's PIN once it is on the lock, or being moved on the lock it was
/// on (the guest already has it and will have it again).
fn renderable_pin(rec: &BookingRecord, now: Instant) -> Option<String> {
    let on_lock = rec.on_lock.is_some();
    let being_moved = !rec.left_to_expire
        && rec.issued_on.is_some()
        && rec
            .target
            .as_ref()
            .is_some_and(|t| Some(&t.placement.lock_id) == rec.issued_on.as_ref() && now < t.placement.end);
    (on_lock || being_moved).then(|| rec.pin.clone()).flatten()
}
