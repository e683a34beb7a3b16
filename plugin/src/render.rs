//! Message variables (R19).

use crate::host::Host;
use crate::store::Store;

/// Names this plugin answers; `nuki_code` is the legacy alias.
pub const CODE_VARIABLES: [&str; 2] = ["smartlock_code", "nuki_code"];

/// The booking's PIN once it is on the lock (or being moved: the guest
/// already has it), or its fallback code (R24). `None` for unknown names, unknown bookings, bookings
/// without a code, and on any storage trouble (a message renders without
/// the variable rather than failing).
pub fn render_variable<H: Host + ?Sized>(host: &H, name: &str, booking_id: &str) -> Option<String> {
    if !CODE_VARIABLES.contains(&name) {
        return None;
    }
    let rec = Store::new(host).booking(booking_id).ok()??;
    if !rec.facts.confirmed {
        return None;
    }
    // R24: the guest holds the fallback code from the moment it is issued.
    if let Some(fb) = &rec.fallback {
        return Some(fb.pin.clone());
    }
    let on_lock = rec.on_lock.is_some();
    // Being moved to a new window on the lock it was on: the guest already
    // has this PIN and will have it again.
    let being_moved = !rec.left_to_expire
        && rec.issued_on.is_some()
        && rec
            .target
            .as_ref()
            .is_some_and(|t| Some(&t.placement.lock_id) == rec.issued_on.as_ref() && host.now() < t.placement.end);
    (on_lock || being_moved).then(|| rec.pin.clone()).flatten()
}
