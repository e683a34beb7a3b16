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
    let (property, lock, check_in) = match &rec.target {
        Some(t) => {
            let when = schedule::parse_timezone("timezone", &t.timezone)
                .map(|tz| human_local(tz, t.plan.window_start))
                .unwrap_or_else(|_| rec.facts.check_in.clone());
            (t.property_name.clone(), t.lock_name.clone(), when)
        }
        None => (rec.facts.property_id.clone(), "(none)".to_string(), rec.facts.check_in.clone()),
    };
    let error = rec.last_error.clone().unwrap_or_else(|| "the code has not been confirmed on the lock yet".to_string());
    let subject =
        format!("Action needed: no door code yet for {guest} at {property} (check-in {})", rec.facts.check_in);
    let body = format!(
        "The door code for tomorrow's guest could not be put on the lock.\n\
         \n\
         Property:  {property}\n\
         Guest:     {guest} (booking {booking})\n\
         Check-in:  {check_in_date}, code valid from {check_in}\n\
         Lock:      {lock}\n\
         Problem:   {error}\n\
         \n\
         What to do:\n\
         1. Check that the lock's bridge is plugged in and online in the igloohome app.\n\
         2. The code will keep being retried every hour until midnight; if the bridge comes back, \
         the guest's code is created automatically and nothing else is needed.\n\
         3. If it cannot be fixed tonight, give the guest another way in (for example an offline \
         code from the igloohome app, or a key handover).\n",
        booking = rec.facts.id,
        check_in_date = rec.facts.check_in,
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
