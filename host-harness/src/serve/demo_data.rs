//! The demo tenant's data (`serve --demo`): its properties and bookings,
//! and the API key of the start-up line's panel URL. Apart from the demo's
//! stub world (`demo.rs`), which the host holds: this module uses the host,
//! the host does not use it.

use chrono::{Days, Utc};

use super::demo::DEMO_TENANT;
use super::host::Host;
use super::records::{BookingRecord, PropertyRecord};

/// A demo property: id, name, timezone, default check-in and check-out times.
type DemoProperty = (&'static str, &'static str, &'static str, Option<&'static str>, Option<&'static str>);

const PROPERTIES: [DemoProperty; 8] = [
    ("seaside-loft", "Seaside Loft", "Europe/Lisbon", None, None),
    ("harbour-view", "Harbour View Apartment", "Europe/Lisbon", Some("16:00"), Some("10:00")),
    ("mountain-chalet", "Mountain Chalet", "Europe/Zurich", Some("17:00"), None),
    ("forest-cabin", "Forest Cabin", "Europe/Berlin", None, None),
    ("city-studio", "City Studio 12", "America/New_York", None, Some("12:00")),
    ("riverside-loft", "Riverside Loft", "America/Chicago", None, None),
    ("garden-cottage", "Garden Cottage", "Europe/London", None, None),
    ("surf-house", "Surf House", "Australia/Sydney", Some("14:00"), None),
];

const GUESTS: [&str; 8] =
    ["Ana Silva", "Tom Becker", "Mei Chen", "Lucas Martin", "Sara Rossi", "Omar Haddad", "Eva Novak", "Liam Walsh"];

/// Gives the demo tenant its properties and bookings (check-ins 1, 4 and 12
/// days from the clock's date), unless it has properties already.
pub fn seed(host: &Host) -> anyhow::Result<()> {
    let tenant = host.tenant(DEMO_TENANT).map_err(|e| anyhow::anyhow!(e.message))?;
    let turn = tenant.turn().map_err(|e| anyhow::anyhow!(e.message))?;
    if !tenant.records.properties()?.is_empty() {
        return Ok(());
    }
    let today = chrono::DateTime::<Utc>::from_timestamp(host.now(), 0).unwrap_or_default().date_naive();
    let date = |days: u64| today.checked_add_days(Days::new(days)).unwrap_or(today).format("%Y-%m-%d").to_string();
    for (i, (id, name, timezone, check_in_time, check_out_time)) in PROPERTIES.iter().enumerate() {
        let property = PropertyRecord {
            id: id.to_string(),
            name: name.to_string(),
            timezone: timezone.to_string(),
            check_in_time: check_in_time.map(str::to_string),
            check_out_time: check_out_time.map(str::to_string),
        };
        answer(tenant.handle.on_property_changed(&property.to_api()))?;
        tenant.records.put_property(&property)?;
        for (n, (arrive, nights)) in [(1u64, 2u64), (4, 3), (12, 5)].into_iter().enumerate() {
            let booking = BookingRecord {
                id: format!("{id}-{}", n + 1),
                property_id: id.to_string(),
                guest_name: Some(GUESTS[(i + n * 3) % GUESTS.len()].to_string()),
                check_in: date(arrive),
                check_out: date(arrive + nights),
                check_in_time: None,
                check_out_time: None,
                status: "confirmed".into(),
            };
            let event = crate::api::BookingEvent { booking: booking.to_api(), property: property.to_api() };
            answer(tenant.handle.on_booking_changed(&event))?;
            tenant.records.put_booking(&booking, None)?;
        }
    }
    host.touched(DEMO_TENANT);
    drop(turn);
    Ok(())
}

fn answer<T>(r: crate::CallResult<T>) -> anyhow::Result<T> {
    super::json::answer(r).map_err(|e| anyhow::anyhow!("demo data refused: {}", e.message))
}

/// The label of the demo tenant's panel key.
const PANEL_KEY_LABEL: &str = "demo panel";

/// A fresh API key of the demo tenant for the start-up line's panel URL;
/// the one an earlier start made is revoked (its secret is not kept).
pub fn panel_key(host: &Host) -> anyhow::Result<String> {
    let store = host.service_store();
    for old in super::keys::list(store, DEMO_TENANT)? {
        if old.label.as_deref() == Some(PANEL_KEY_LABEL) {
            super::keys::revoke(store, DEMO_TENANT, &old.id)?;
        }
    }
    let made = super::keys::create(store, DEMO_TENANT, Some(PANEL_KEY_LABEL.into()), host.clock.now_secs());
    let (_, key) = made.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(key)
}
