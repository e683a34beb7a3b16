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

use serde_json::json;

use crate::imports::{HttpBackend, HttpError, HttpRequest, HttpResponse};
use crate::stubs::{StubServer, World, WorldConfig};

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
