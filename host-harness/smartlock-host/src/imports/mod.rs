//! The host side of the plugin's imports.
//!
//! A [`Tenant`] bundles the backends one PMS account's plugin instance talks
//! to: its storage namespace (with the e-mail outbox), its HTTP transport, its
//! clock and its vendor routes (the HTTP allow-list). The imports are served
//! from a [`SmartlockCtx`](crate::SmartlockCtx) (the tenant, its wake-ups and
//! the call's time accounting). Each import lives in its own file and checks
//! its limits before it acts.

pub mod clock;
pub mod code_events;
pub mod email;
pub mod http;
pub mod log;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod random;
pub mod scheduler;
pub mod storage;

use std::sync::{Arc, OnceLock};

pub use self::clock::{Clock, SimClock, SystemClock};
pub use self::http::{
    HttpBackend, HttpError, HttpMethod, HttpRequest, HttpResponse, UreqBackend, UreqConfig, VendorRoutes,
};
#[cfg(feature = "postgres")]
pub use self::postgres::{Fence, PgDb, PgStore, Turn};
pub use self::storage::{Email, KvStore, MemoryStore, SqliteDb, SqliteStore, StorageError, StoredEvent, Write};

/// One PMS account as the host sees it: the backends behind its imports.
///
/// Fields are public; [`Tenant::new`] takes the tenant's storage and gives
/// the shared real HTTP client, the system clock and the real hosts of every
/// vendor ([`VendorRoutes::all_brands`]); the `with_*` methods replace one
/// backend each.
#[derive(Clone)]
pub struct Tenant {
    /// The tenant's id (the PMS account id): the `tenant` field of every log
    /// line and [`CallError`](crate::CallError) about it, the key of its
    /// [`WakeUps`](crate::WakeUps) entry and of its turn (calls with the same
    /// id never overlap). Keep it stable, and equal to the id of its storage
    /// namespace ([`SqliteDb::tenant`]).
    pub id: String,
    /// Its key-value namespace and e-mail outbox.
    pub storage: Arc<dyn KvStore>,
    /// The transport for requests that passed the allow-list.
    pub http: Arc<dyn HttpBackend>,
    /// Its clock (the plugin's only clock).
    pub clock: Arc<dyn Clock>,
    /// The vendor origins it may reach, and where each is routed: the
    /// allow-list (by default [`VendorRoutes::all_brands`]). Any other URL
    /// is refused without a connection.
    pub routes: VendorRoutes,
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant").field("id", &self.id).field("routes", &self.routes).finish_non_exhaustive()
    }
}

impl Tenant {
    /// A tenant with its storage (e.g. [`SqliteDb::tenant`], or a
    /// [`MemoryStore`] in tests), the shared default [`UreqBackend`], the
    /// [`SystemClock`] and the allow-list [`VendorRoutes::all_brands`].
    ///
    /// The default allow-list is every origin of every brand the component
    /// lists ([`Runtime::brands`](crate::Runtime::brands)), each sent to
    /// itself. Every other URL is `forbidden` and no connection is made.
    /// Narrow it ([`VendorRoutes::from_brands`] with fewer brands) or send a
    /// brand elsewhere ([`VendorRoutes::route_brand`]) with
    /// [`with_routes`](Self::with_routes).
    pub fn new(id: impl Into<String>, storage: Arc<dyn KvStore>) -> Self {
        static DEFAULT_HTTP: OnceLock<Arc<UreqBackend>> = OnceLock::new();
        let http = DEFAULT_HTTP.get_or_init(|| Arc::new(UreqBackend::new(UreqConfig::default()))).clone();
        Tenant { id: id.into(), storage, http, clock: Arc::new(SystemClock), routes: VendorRoutes::all_brands() }
    }

    /// Replaces the HTTP transport (behind the same allow-list).
    pub fn with_http(mut self, http: Arc<dyn HttpBackend>) -> Self {
        self.http = http;
        self
    }

    /// Replaces the clock (a [`SimClock`] makes the plugin live in simulated time).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the allow-list of vendor origins and where each is sent.
    pub fn with_routes(mut self, routes: VendorRoutes) -> Self {
        self.routes = routes;
        self
    }
}

impl crate::bindings::generated::pms::smartlock::types::Host for crate::SmartlockCtx {}

/// Cuts `text` to at most `max` bytes on a char boundary.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
