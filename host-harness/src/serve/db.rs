//! Where the service keeps its state: one SQLite file (one process, the
//! default) or a PostgreSQL database that any number of service processes
//! share (R34).
//!
//! With PostgreSQL a tenant's turn ([`TenantTurn`]) is also a session
//! advisory lock held for the whole request or tick, and the tenant's
//! stores (plugin state, outbox, the host's records) are fenced to that
//! session: they write through it alone, so a process that dies or is cut
//! off from the database can no longer write once another process may hold
//! the tenant. Before every vendor request the tenant's transport checks
//! that the session is still there ([`FencedHttp`]); a turn taken over from
//! a holder that ended without releasing it first waits out that holder's
//! last vendor request (`--takeover-grace`). The turn's end writes the
//! plugin's latest wake-up into the shared schedule.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::imports::{HttpBackend, HttpError, HttpRequest, HttpResponse, KvStore, SqliteDb, StorageError};
use crate::{Fence, PgDb, Runtime, Turn};

/// The environment variable that may name the database (a URL with a
/// password belongs here or in a file, not on the command line).
pub const DB_ENV: &str = "SMARTLOCK_DB";

/// A database as named on the command line or in `SMARTLOCK_DB`.
#[derive(Clone, PartialEq, Eq)]
pub enum DbTarget {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL (`postgres://` or `postgresql://`); may hold a password.
    Postgres(String),
}

impl std::fmt::Debug for DbTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbTarget::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            DbTarget::Postgres(url) => {
                f.debug_tuple("Postgres").field(&crate::imports::postgres::mask_password(url)).finish()
            }
        }
    }
}

impl DbTarget {
    /// A `postgres://` or `postgresql://` URL is PostgreSQL; anything else a
    /// SQLite file.
    pub fn parse(value: &str) -> DbTarget {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            DbTarget::Postgres(value.to_string())
        } else {
            DbTarget::Sqlite(PathBuf::from(value))
        }
    }

    /// For logs: the file, or the URL with its password masked.
    pub fn describe(&self) -> String {
        match self {
            DbTarget::Sqlite(path) => path.display().to_string(),
            DbTarget::Postgres(url) => crate::imports::postgres::mask_password(url),
        }
    }
}

/// The service's database.
#[derive(Clone, Debug)]
pub enum Database {
    Sqlite(SqliteDb),
    Postgres(PgDb),
}

impl Database {
    /// The namespace `name` for the service's own records (tenants, keys):
    /// written outside any tenant's turn.
    pub fn store(&self, name: &str) -> Arc<dyn KvStore> {
        match self {
            Database::Sqlite(db) => Arc::new(db.tenant(name)),
            Database::Postgres(db) => Arc::new(db.tenant(name)),
        }
    }

    /// The namespace `name` of a tenant: on PostgreSQL written only in the
    /// tenant's turn, through its session (`fence`).
    pub fn tenant_store(&self, name: &str, fence: Option<&Fence>) -> Arc<dyn KvStore> {
        match (self, fence) {
            (Database::Postgres(db), Some(fence)) => Arc::new(db.tenant_fenced(name, fence)),
            _ => self.store(name),
        }
    }

    /// The PostgreSQL database, when it is one.
    pub fn postgres(&self) -> Option<&PgDb> {
        match self {
            Database::Postgres(db) => Some(db),
            Database::Sqlite(_) => None,
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }
}

/// One tenant's turn: the in-process lock, and on PostgreSQL the tenant's
/// advisory lock across processes. Ends when dropped.
pub struct TenantTurn<'a> {
    _local: MutexGuard<'a, ()>,
    shared: Option<SharedTurn>,
}

/// The cross-process part of a turn.
struct SharedTurn {
    turn: Option<Turn>,
    tenant: String,
    runtime: Runtime,
}

/// Marks "no wake-up reported in this turn" in the runtime's in-memory
/// wake-ups, which on PostgreSQL only carry the plugin's report from the
/// `scheduler` import to the turn's end (the schedule itself is the table).
const NOT_REPORTED: i64 = i64::MIN;

/// How a PostgreSQL turn is taken: this process's name and how long to wait
/// for the last vendor request of a holder that ended without releasing.
#[derive(Debug, Clone)]
pub struct TurnSettings {
    pub holder: String,
    pub takeover_grace: Duration,
}

impl<'a> TenantTurn<'a> {
    /// Takes `tenant`'s turn: first in this process (`local`), then, with
    /// PostgreSQL, across processes.
    pub fn take(
        local: &'a Mutex<()>,
        tenant: &str,
        pg: Option<(&PgDb, &Fence, &TurnSettings)>,
        runtime: &Runtime,
    ) -> Result<TenantTurn<'a>, StorageError> {
        let guard = local.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((db, fence, settings)) = pg else {
            return Ok(TenantTurn { _local: guard, shared: None });
        };
        let turn = db.begin_turn(tenant, fence, &settings.holder)?;
        if let Some(previous) = turn.previous_holder() {
            tracing::warn!(
                tenant,
                previous,
                grace_s = settings.takeover_grace.as_secs_f64(),
                "taking over a turn its holder did not release (killed or cut off from the database): \
                 waiting out its last vendor request"
            );
            std::thread::sleep(settings.takeover_grace);
        }
        runtime.wake_ups().set(tenant, Some(NOT_REPORTED));
        Ok(TenantTurn {
            _local: guard,
            shared: Some(SharedTurn { turn: Some(turn), tenant: tenant.to_string(), runtime: runtime.clone() }),
        })
    }
}

impl Drop for SharedTurn {
    fn drop(&mut self) {
        let Some(turn) = self.turn.take() else { return };
        let report = match self.runtime.wake_ups().next(&self.tenant) {
            Some(NOT_REPORTED) => None,
            reported => Some(reported),
        };
        if let Err(e) = turn.release(report) {
            tracing::warn!(tenant = %self.tenant, error = %e, "ending the tenant's turn failed; its session is closed");
        }
    }
}

impl Drop for TenantTurn<'_> {
    fn drop(&mut self) {
        // The shared turn ends before the local lock is let go.
        self.shared.take();
    }
}

/// A tenant's transport on PostgreSQL: before each vendor request, checks
/// that the tenant's turn still holds its session, so a call cut off from
/// the database sends nothing more (another process may hold the tenant).
pub struct FencedHttp {
    pub inner: Arc<dyn HttpBackend>,
    pub fence: Fence,
}

impl HttpBackend for FencedHttp {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        self.fence.check().map_err(|e| HttpError::Transport(format!("not sent: the tenant's turn is lost ({e})")))?;
        self.inner.send(request)
    }
}

/// This process's name in the turns table: host, process id, a random part.
pub fn holder_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let mut random = [0u8; 4];
    let _ = getrandom::fill(&mut random);
    format!("{}:{}:{:08x}", host.trim(), std::process::id(), u32::from_be_bytes(random))
}
