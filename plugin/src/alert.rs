//! The alert e-mail (R12): written for a busy property manager — what, where,
//! when, why, and what to do — and free of secrets (R2).

use crate::lifecycle::BookingRecord;
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
            let tz = schedule::parse_timezone("timezone", &t.timezone).unwrap_or(chrono_tz::UTC);
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
    let subject = format!("Action needed: no door code yet for {guest} at {property} (check-in {check_in_date})");
    let body = format!(
        "The door code for {guest}, arriving on {check_in_date}, could not be put on the lock yet.\n\
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

/// "Fri 20 Mar 2026, 14:30 CET" in the property's timezone.
fn human_local(tz: chrono_tz::Tz, t: schedule::Instant) -> String {
    use chrono::TimeZone as _;
    match tz.timestamp_opt(t, 0).single() {
        Some(local) => local.format("%a %-d %b %Y, %H:%M %Z").to_string(),
        None => schedule::format_utc(t),
    }
}
