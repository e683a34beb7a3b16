//! The service's shared state: the loaded plugin, the database (a SQLite
//! file, or PostgreSQL shared with other processes, [`db`](super::db)), the
//! clock, the tenants (made on first use, remembered once they wrote
//! something so that the regular tick reaches them after a restart, dropped
//! from memory while idle), the operator's token and the tenants' API keys
//! ([`keys`](super::keys)).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::imports::{Clock as _, HttpBackend, KvStore, StorageError, Tenant, VendorRoutes};
use crate::Fence;
use crate::{Runtime, TenantHandle};

use super::clock::ServiceClock;
use super::db::{Database, FencedHttp, TenantTurn, TurnSettings};
use super::demo::Demo;
use super::json::ApiError;
use super::keys::{self, constant_time_eq, Caller};
use super::poke::Poke;
use super::records::Records;

/// The service's own namespace in the SQLite file (a tenant id has no `/`).
const SERVICE_NAMESPACE: &str = "host/service";
/// Key prefix of the tenants that have written something.
const TENANT_PREFIX: &str = "tenant/";
/// Where a demo's simulated clock is kept, so a restart does not go back in time.
const CLOCK_KEY: &str = "demo-clock";

/// Tenants kept in memory at most, beyond those in use; the least recently
/// used idle ones go first.
const MAX_RESIDENT_TENANTS: usize = 1024;
/// A tenant not used for this long is dropped from memory (its state stays
/// in the file; the next request or tick makes it again).
const IDLE_EVICTION: Duration = Duration::from_secs(10 * 60);

/// One tenant: its plugin handle and its PMS records.
pub struct TenantEntry {
    pub handle: TenantHandle,
    pub records: Records,
    runtime: Runtime,
    /// The service's critical section for this tenant (R33): an API request
    /// or a tick holds it from reading the host's records through the
    /// plugin call to writing them back, so concurrent requests never
    /// interleave. With PostgreSQL it spans every process (R34).
    turn: Mutex<()>,
    /// With PostgreSQL: the turn's session, which the tenant's stores and
    /// transport go through.
    fence: Option<Fence>,
    pg: Option<(crate::PgDb, Arc<TurnSettings>)>,
    last_used: Mutex<Instant>,
}

impl TenantEntry {
    /// Takes the tenant's turn: waits for a request or tick of the same
    /// tenant, in this process and (PostgreSQL) in every other. 503
    /// `storage_failed` when the database cannot be reached.
    pub fn turn(&self) -> Result<TenantTurn<'_>, ApiError> {
        let pg = match (&self.pg, &self.fence) {
            (Some((db, settings)), Some(fence)) => Some((db, fence, &**settings)),
            _ => None,
        };
        TenantTurn::take(&self.turn, self.handle.id(), pg, &self.runtime).map_err(ApiError::storage)
    }
}

/// Everything the API, the panel and the scheduler share.
pub struct Host {
    pub runtime: Runtime,
    pub db: Database,
    /// Where the vendor stubs are when the service follows a stub process
    /// (`--stub URL`): every brand goes there and the clock is the stub's.
    pub stub: Option<String>,
    pub clock: Arc<ServiceClock>,
    pub demo: Option<Demo>,
    /// Credential fields the host supplies itself, by (brand, field): an
    /// application's id and secret the brand's form marks host-supplied.
    supplied: Vec<(String, String, String)>,
    /// Longest stay accepted, in nights.
    pub max_nights: u32,
    pub poke: Poke,
    routes: VendorRoutes,
    http: Arc<dyn HttpBackend>,
    token: String,
    service: Arc<dyn KvStore>,
    turn_settings: Arc<TurnSettings>,
    tenants: Mutex<HashMap<String, Arc<TenantEntry>>>,
    registered: Mutex<BTreeSet<String>>,
}

/// The tenants registered in the service's namespace, by id.
fn registered_in(service: &dyn KvStore) -> Result<Vec<String>, StorageError> {
    let mut registered = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = service.list(TENANT_PREFIX, after.as_deref(), 500)?;
        let done = page.len() < 500;
        after = page.last().map(|(k, _)| k.clone());
        registered.extend(page.into_iter().map(|(k, _)| k[TENANT_PREFIX.len()..].to_string()));
        if done {
            return Ok(registered);
        }
    }
}

/// Whether `id` may name a tenant: 1 to 64 ASCII letters, digits, `.`, `_`, `-`.
pub fn valid_tenant_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl TenantEntry {
    fn idle(&self) -> Duration {
        self.last_used.lock().unwrap_or_else(PoisonError::into_inner).elapsed()
    }
}

/// Drops the least recently used tenants nobody holds until at most `keep`
/// are left (those in use stay whatever the count).
fn evict(tenants: &mut HashMap<String, Arc<TenantEntry>>, keep: usize) {
    let mut idle: Vec<(Duration, String)> =
        tenants.iter().filter(|(_, t)| Arc::strong_count(t) == 1).map(|(id, t)| (t.idle(), id.clone())).collect();
    idle.sort_by_key(|(idle, _)| std::cmp::Reverse(*idle));
    let excess = tenants.len().saturating_sub(keep);
    for (_, id) in idle.into_iter().take(excess) {
        tenants.remove(&id);
    }
}

/// The parts [`Host::new`] is built from.
pub struct HostParts {
    pub runtime: Runtime,
    pub db: Database,
    pub stub: Option<String>,
    pub turn_settings: TurnSettings,
    pub clock: Arc<ServiceClock>,
    pub routes: VendorRoutes,
    pub http: Arc<dyn HttpBackend>,
    pub token: String,
    pub demo: Option<Demo>,
    /// Host-supplied credential fields, (brand, field, value).
    pub supplied: Vec<(String, String, String)>,
    pub max_nights: u32,
}

impl Host {
    /// The value the host supplies for a brand's host-supplied field.
    pub fn supplied(&self, brand: &str, field: &str) -> Option<String> {
        self.supplied.iter().find(|(b, f, _)| b == brand && f == field).map(|(_, _, v)| v.clone())
    }

    /// The host, with the tenants registered in the file.
    pub fn new(parts: HostParts) -> Result<Host, ApiError> {
        let service = parts.db.store(SERVICE_NAMESPACE);
        let registered = registered_in(&*service).map_err(ApiError::storage)?.into_iter().collect();
        Ok(Host {
            runtime: parts.runtime,
            db: parts.db,
            stub: parts.stub,
            turn_settings: Arc::new(parts.turn_settings),
            clock: parts.clock,
            demo: parts.demo,
            supplied: parts.supplied,
            max_nights: parts.max_nights,
            poke: Poke::default(),
            routes: parts.routes,
            http: parts.http,
            token: parts.token,
            service,
            tenants: Mutex::new(HashMap::new()),
            registered: Mutex::new(registered),
        })
    }

    /// Who `header` (the `Authorization` value) speaks for: the operator, a
    /// tenant (by one of its API keys), or nobody.
    pub fn caller(&self, header: Option<&str>) -> Option<Caller> {
        let value = header?;
        let key = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?.trim();
        if constant_time_eq(key.as_bytes(), self.token.as_bytes()) {
            return Some(Caller::Operator);
        }
        match keys::verify(&*self.service, key) {
            Ok(tenant) => tenant.map(Caller::Tenant),
            Err(e) => {
                tracing::error!(error = %e, "API keys: storage failed");
                None
            }
        }
    }

    /// The service's own namespace (tenant list, API keys, the demo clock).
    pub fn service_store(&self) -> &dyn KvStore {
        &*self.service
    }

    /// The tenant `id` (made on first use); 400 naming `tenant` for a bad id.
    pub fn tenant(&self, id: &str) -> Result<Arc<TenantEntry>, ApiError> {
        if !valid_tenant_id(id) {
            return Err(ApiError::invalid("tenant", "must be 1 to 64 letters, digits, '.', '_' or '-'"));
        }
        let mut tenants = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        if !tenants.contains_key(id) && tenants.len() >= MAX_RESIDENT_TENANTS {
            evict(&mut tenants, MAX_RESIDENT_TENANTS - 1);
        }
        let entry = tenants.entry(id.to_string()).or_insert_with(|| {
            let fence = self.db.postgres().map(|_| Fence::new());
            let http: Arc<dyn HttpBackend> = match &fence {
                Some(fence) => Arc::new(FencedHttp { inner: self.http.clone(), fence: fence.clone() }),
                None => self.http.clone(),
            };
            let tenant = Tenant::new(id, self.db.tenant_store(id, fence.as_ref()))
                .with_http(http)
                .with_clock(self.clock.clone())
                .with_routes(self.routes.clone());
            Arc::new(TenantEntry {
                handle: self.runtime.tenant(tenant),
                records: Records::new(&self.db, id, fence.as_ref()),
                runtime: self.runtime.clone(),
                turn: Mutex::new(()),
                pg: self.db.postgres().map(|db| (db.clone(), self.turn_settings.clone())),
                fence,
                last_used: Mutex::new(Instant::now()),
            })
        });
        *entry.last_used.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
        Ok(entry.clone())
    }

    /// Drops the tenants idle for [`IDLE_EVICTION`] from memory.
    pub fn evict_idle(&self) {
        let mut tenants = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        tenants.retain(|_, t| Arc::strong_count(t) > 1 || t.idle() < IDLE_EVICTION);
    }

    /// Tenants held in memory now.
    pub fn resident_tenants(&self) -> usize {
        self.tenants.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Remembers that `id` has state, so the regular tick reaches it (also
    /// after a restart), and wakes the scheduler: the call just made may
    /// have made work due.
    pub fn touched(&self, id: &str) {
        let new = self.registered.lock().unwrap_or_else(PoisonError::into_inner).insert(id.to_string());
        if new {
            if let Err(e) = self.service.set(&format!("{TENANT_PREFIX}{id}"), b"{}") {
                tracing::error!(tenant = id, error = %e, "could not register the tenant");
            }
            if let Some(db) = self.db.postgres() {
                // In the shared schedule, its first regular tick due now.
                if let Err(e) = db.schedule_add(id, self.clock.now_secs()) {
                    tracing::error!(tenant = id, error = %e, "could not add the tenant to the schedule");
                }
            }
        }
        self.poke.poke(id);
    }

    /// The tenants with state, by id (with PostgreSQL, those every process
    /// registered).
    pub fn registered(&self) -> Vec<String> {
        if self.db.postgres().is_some() {
            match registered_in(&*self.service) {
                Ok(all) => return all,
                Err(e) => tracing::error!(error = %e, "listing the tenants failed"),
            }
        }
        self.registered.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
    }

    /// This process's name in the shared turns table (PostgreSQL).
    pub fn holder(&self) -> &str {
        &self.turn_settings.holder
    }

    /// The clock's instant, after moving a demo's vendor stubs to it.
    pub fn now(&self) -> i64 {
        let now = self.clock.now();
        if let Some(demo) = &self.demo {
            demo.world.set_time(now);
        }
        now
    }

    /// A demo's simulated clock as saved by [`Host::save_clock`].
    pub fn saved_clock(db: &Database) -> Option<i64> {
        let bytes = db.store(SERVICE_NAMESPACE).get(CLOCK_KEY).ok()??;
        std::str::from_utf8(&bytes).ok()?.parse().ok()
    }

    /// Saves a demo's simulated clock (a restarted demo goes on from there).
    pub fn save_clock(&self) {
        if self.clock.is_simulated() && self.demo.is_some() {
            let now = self.clock.now().to_string();
            if let Err(e) = self.service.set(CLOCK_KEY, now.as_bytes()) {
                tracing::warn!(error = %e, "could not save the demo clock");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_plain() {
        assert!(valid_tenant_id("demo"));
        assert!(valid_tenant_id("acct-42.eu_1"));
        for bad in ["", "a/b", "pms/x", "a b", &"x".repeat(65), "é"] {
            assert!(!valid_tenant_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
