//! The alert e-mail (R12): written for a busy property manager — what, where,
//! when, why, and what to do — and free of secrets (R2).

use crate::lifecycle::{BookingRecord, Fallback};
use crate::schedule;

pub struct Mail {
    pub subject: String,
    pub body: String,
}

pub fn compose(rec: &BookingRecord) -> Mail {
    let guest = rec.facts.guest();
    let booking = &rec.facts.id;
    let check_in_date = &rec.facts.check_in;
    let (property, lock, opens, retries) = match &rec.target {
        Some(t) => {
            let tz = rec.zone();
            let deadline = schedule::attempt_deadline(&t.plan, rec.eligible_at.unwrap_or(t.plan.create_at));
            (
                t.property_name.clone(),
                t.lock_name.clone(),
                human_local(tz, t.plan.window_start),
                format!("until {}", human_local(tz, deadline)),
            )
        }
        None => (rec.facts.property_id.clone(), "(none)".to_string(), check_in_date.clone(), String::new()),
    };
    let (link_check, fallback) = match &rec.target {
        Some(t) => (t.placement.provider.capabilities().link_check, t.placement.provider.capabilities().fallback),
        None => ("the lock is online in its app", "a code made in the lock's own app"),
    };
    let error = rec.last_error.clone().unwrap_or_else(|| "the code has not been confirmed on the lock yet".to_string());
    if let Some(fb) = &rec.fallback {
        return compose_with_fallback(rec, fb, &property, &lock, &opens, &error, link_check);
    }
    // A shared door's code (R26) has its own alert, naming the door.
    let (at_door, the_lock) = match rec.role.door_name() {
        Some(door) => (format!(", {door}"), format!("the shared door \"{door}\"")),
        None => (String::new(), "the lock".to_string()),
    };
    let subject =
        format!("Action needed: no door code yet for {guest} at {property}{at_door} (check-in {check_in_date})");
    let body = format!(
        "The door code for {guest}, arriving on {check_in_date}, could not be put on {the_lock} yet.\n\
         \n\
         Property:  {property}\n\
         Guest:     {guest} (booking {booking})\n\
         Check-in:  {check_in_date}; the code should open the door from {opens}\n\
         Lock:      {lock}\n\
         Problem:   {error}\n\
         \n\
         What to do:\n\
         1. Check that {link_check}.\n\
         2. The code is retried every hour {retries}: if that is fixed by then, the guest's \
         code is created automatically and nothing else is needed. No further e-mail is sent for this booking.\n\
         3. If it cannot be fixed in time, give the guest another way in (for example {fallback}, \
         or a key handover).\n",
    );
    Mail { subject, body }
}

/// R24: the one alert, when the guest got an offline code instead: which
/// code, its window, the guest's rule, and that the regular code is no
/// longer tried.
fn compose_with_fallback(
    rec: &BookingRecord,
    fb: &Fallback,
    property: &str,
    lock: &str,
    opens: &str,
    error: &str,
    link_check: &str,
) -> Mail {
    let guest = rec.facts.guest();
    let booking = &rec.facts.id;
    let check_in_date = &rec.facts.check_in;
    let tz = rec.zone();
    let (from, until) = (human_local(tz, fb.start), human_local(tz, fb.end));
    let rule = guest_rule(fb).map(|r| format!("\nThe guest must {r}.\n")).unwrap_or_default();
    let revocable = if fb.revocable {
        "It is withdrawn if the booking is cancelled."
    } else {
        "It cannot be withdrawn: it opens the door until its end even if the booking is cancelled."
    };
    // The problem without its retry advice: the regular code is no longer tried.
    let error = error.split([':', ';']).next().unwrap_or(error).trim();
    let what = fallback_what(fb);
    let how = if fb.kind == BACKUP {
        "a spare code the lock already holds; it is narrowed to the stay once the lock can be reached again"
    } else {
        "the lock checks it by itself, without its link to the cloud"
    };
    let label = if fb.kind == BACKUP { "Backup code: " } else { "Offline code:" };
    let subject = format!("Door code for {guest} at {property}: {what} was issued (check-in {check_in_date})");
    let body = format!(
        "The door code for {guest}, arriving on {check_in_date}, could not be put on the lock in time, so the guest \
         got {what} instead: {how}.\n\
         \n\
         Property:      {property}\n\
         Guest:         {guest} (booking {booking})\n\
         Check-in:      {check_in_date}; the door code should open from {opens}\n\
         Lock:          {lock}\n\
         {label}  {pin}, valid from {from} to {until}\n\
         Problem:       {error}\n\
         {rule}\
         \n\
         What to do:\n\
         1. Nothing, if the guest's message already shows the code ({{{{smartlock_code}}}} now gives the {kind} \
         code). Otherwise send it to the guest.\n\
         2. Check that {link_check}. The regular code is no longer tried for this booking. {revocable}\n\
         No further e-mail is sent for this booking.\n",
        pin = fb.pin,
        kind = fb.kind,
    );
    Mail { subject, body }
}

/// The kind of a fallback code from the lock's backup pool (R25).
pub const BACKUP: &str = "backup";

/// "an offline code" or "a backup code", for sentences.
pub fn fallback_what(fb: &Fallback) -> &'static str {
    if fb.kind == BACKUP {
        "a backup code"
    } else {
        "an offline code"
    }
}

/// What the guest must do with a fallback code, if anything.
pub fn guest_rule(fb: &Fallback) -> Option<String> {
    fb.first_use_within_secs
        .map(|s| format!("enter it once within {} hours of its start, or the lock refuses it", s / 3600))
}

/// R24: the one e-mail when a booking with a fallback code that cannot be
/// withdrawn is cancelled or shortened: until when it stays valid.
pub fn fallback_notice(rec: &BookingRecord) -> Option<Mail> {
    let fb = rec.fallback.as_ref()?;
    let guest = rec.facts.guest();
    let booking = &rec.facts.id;
    let property = match (&rec.target, fb.property_name.is_empty()) {
        (Some(t), _) => t.property_name.clone(),
        (None, false) => fb.property_name.clone(),
        (None, true) => rec.facts.property_id.clone(),
    };
    let tz = rec.zone();
    let until = human_local(tz, fb.end);
    let what = if rec.facts.confirmed { "was shortened" } else { "was cancelled" };
    let subject = format!("Offline door code still valid: booking {booking} of {guest} at {property} {what}");
    let body = format!(
        "Booking {booking} of {guest} at {property} {what}, but the offline door code issued for it cannot be \
         withdrawn: it keeps opening the door until {until}.\n\
         \n\
         What to do: if that is a risk, reset the lock's PINs in its app next to the lock, or change the lock's \
         access another way. No further e-mail is sent for this booking.\n",
    );
    Some(Mail { subject, body })
}

/// "Fri 20 Mar 2026, 14:30 CET" in the property's timezone.
fn human_local(tz: chrono_tz::Tz, t: schedule::Instant) -> String {
    use chrono::TimeZone as _;
    match tz.timestamp_opt(t, 0).single() {
        Some(local) => local.format("%a %-d %b %Y, %H:%M %Z").to_string(),
        None => schedule::format_utc(t),
    }
}
