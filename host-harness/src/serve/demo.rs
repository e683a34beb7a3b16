//! `serve --demo`: the four vendor stubs in-process (one [`World`] on a
//! loopback port, following the service's clock) with demo accounts and
//! locks, and demo properties and bookings for the tenant `demo`.
//!
//! Demo credentials (stub accounts, not secrets of anyone):
//!
//! | brand | what to enter |
//! |---|---|
//! | igloohome | Client ID `demo-igloohome-id`, Client Secret `demo-igloohome-secret` |
//! | Nuki | API token `demo-nuki-token` |
//! | TTLock | username `owner@example.com`, password `demo-password` (the app id and secret are the host's) |
//! | Seam | API key `seam_demo_key` |

use std::sync::Arc;

use chrono::{Days, Utc};
use serde_json::json;

use crate::imports::{HttpBackend, HttpError, HttpRequest, HttpResponse};
use crate::stubs::{StubServer, World, WorldConfig};

use super::host::Host;
use super::records::{BookingRecord, PropertyRecord};

/// The demo tenant's id.
pub const DEMO_TENANT: &str = "demo";
/// The demo TTLock application (the host's own, as a PMS would have).
pub const DEMO_TTLOCK_APP: (&str, &str) = ("demo-ttlock-app", "demo-ttlock-app-secret");

/// The demo Seam workspace's API key (a stub account, not anyone's secret).
pub const DEMO_SEAM_KEY: &str = "seam_demo_key";

/// The demo's vendor stubs.
pub struct Demo {
    pub world: World,
    server: StubServer<World>,
}

impl Demo {
    /// Starts the stubs on a loopback port, their clock at `now`.
    pub fn start(now: i64) -> anyhow::Result<Demo> {
        let config: WorldConfig = serde_json::from_value(world_json())?;
        config.validate()?;
        let world = World::new(config, now);
        let server = StubServer::start(world.clone())?;
        Ok(Demo { world, server })
    }

    /// Where the plugin's vendor origins are routed (`VendorRoutes::via_stub`).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }
}

/// The demo's vendors: each brand with locks that can be assigned and one
/// that cannot (no bridge, no keypad, no gateway, a Seam device without
/// online access codes), and an offline bridge.
fn world_json() -> serde_json::Value {
    json!({
        "igloohome": {
            "accounts": [{"client_id": "demo-igloohome-id", "client_secret": "demo-igloohome-secret", "name": "Seaside Rentals"}],
            "locks": [
                {"id": "OE1X000001", "name": "Front door", "bridge": "EB1X000001"},
                {"id": "OE1X000002", "name": "Back door", "bridge": "EB1X000002"},
                {"id": "OE1X000003", "name": "Garden gate"},
                {"id": "OE1X000004", "name": "Cellar door", "bridge": "EB1X000003"}
            ],
            "bridges": [
                {"id": "EB1X000001", "name": "Hall bridge", "online": true},
                {"id": "EB1X000002", "name": "Kitchen bridge", "online": true},
                {"id": "EB1X000003", "name": "Cellar bridge", "online": false}
            ]
        },
        "nuki": {
            "accounts": [{"api_token": "demo-nuki-token", "name": "Alpine Stays"}],
            "locks": [
                {"id": "17000001", "name": "Chalet entrance", "keypad": true},
                {"id": "17000002", "name": "Ski room", "keypad": false},
                {"id": "17000003", "name": "Annex door", "keypad": true}
            ]
        },
        "ttlock": {
            "app": {"client_id": DEMO_TTLOCK_APP.0, "client_secret": DEMO_TTLOCK_APP.1},
            "accounts": [{"username": "owner@example.com", "password": "demo-password", "name": "City Flats"}],
            "locks": [
                {"id": "3000001", "name": "Studio door", "gateway": "4000001"},
                {"id": "3000002", "name": "Loft door", "wifi": true},
                {"id": "3000003", "name": "Storage room"}
            ],
            "gateways": [{"id": "4000001", "name": "Lobby gateway", "online": true}]
        },
        "seam": {
            "accounts": [{"api_key": DEMO_SEAM_KEY, "name": "Harbour Homes workspace"}],
            "locks": [
                {"id": "5d9c6f0e-0000-4000-8000-00000000d001", "name": "Lobby door", "brand": "schlage"},
                {"id": "5d9c6f0e-0000-4000-8000-00000000d002", "name": "Bike shed", "brand": "august", "codes": false}
            ]
        }
    })
}

/// The transport of a demo's tenants: the real HTTP client, with the stubs'
/// clock moved to the service's just before each request (so a job the
/// bridge has had time for is done when the plugin asks).
pub struct DemoHttp {
    pub inner: Arc<dyn HttpBackend>,
    pub world: World,
    pub clock: Arc<super::clock::ServiceClock>,
}

impl HttpBackend for DemoHttp {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        self.world.set_time(crate::imports::Clock::now(&*self.clock));
        self.inner.send(request)
    }
}

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
