//! Storage on PostgreSQL (feature `postgres`): the same [`KvStore`]
//! contract as [`SqliteStore`](super::SqliteStore) — byte-ordered keys,
//! atomic batches, the same size limits, an outbox with one e-mail per
//! dedup key — on a database several host processes share, with what they
//! need to share the work:
//!
//! - **turns** ([`PgDb::begin_turn`]): a session advisory lock per tenant,
//!   held on one connection for a whole call. The tenant's stores made with
//!   [`PgDb::tenant_fenced`] write only through that connection, so when the
//!   process dies or is cut off from the database the lock is released and
//!   the stale call can no longer write;
//! - **the schedule** ([`PgDb::claim_due`]): each tenant's next wake-up and
//!   regular tick in a table, claimed with `FOR UPDATE SKIP LOCKED`, so each
//!   due tick runs on exactly one process.
//!
//! The client is the synchronous `postgres` crate (every storage call is
//! synchronous: plugin calls block their thread) with a small pool of its
//! own. Connections are plain TCP or a Unix socket; there is no TLS
//! connector (put the database on the same host or network, or tunnel).

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Bound;
use std::str::FromStr as _;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use postgres::{Client, NoTls, Statement};
use sha2::{Digest as _, Sha256};

use super::storage::{
    check_key, check_list, check_writes, list_start, prefix_upper_bound, Email, KvStore, StorageError, StoredEvent,
    Write,
};

/// The schema, created by [`PgDb::open`] when missing.
pub const PG_SCHEMA: &str = include_str!("postgres.sql");

/// Connections a [`PgDb`] opens at most unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 32;
/// How long a storage call waits for a free connection.
const CHECKOUT_WAIT: Duration = Duration::from_secs(30);
/// How long a turn waits for another holder (PostgreSQL's `lock_timeout`).
const LOCK_WAIT: &str = "120s";

/// `url` with its password, if any, replaced by `***`, for logs and errors.
pub fn mask_password(url: &str) -> String {
    // URL form: scheme://user:password@host...
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            if let Some(colon) = rest[..at].find(':') {
                let (head, tail) = (&url[..scheme_end + 3 + colon + 1], &url[scheme_end + 3 + at..]);
                return format!("{head}***{tail}");
            }
        }
        // A password as a query parameter.
        return mask_param(url, "password=", '&');
    }
    // key=value form.
    mask_param(url, "password=", ' ')
}

fn mask_param(text: &str, name: &str, separator: char) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(name) {
        let boundary = i == 0 || matches!(rest.as_bytes()[i - 1], b'?' | b'&' | b' ');
        out.push_str(&rest[..i + name.len()]);
        rest = &rest[i + name.len()..];
        if boundary {
            let end = rest.find(separator).unwrap_or(rest.len());
            out.push_str("***");
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

/// Whether the connection string carries a password.
pub fn has_password(url: &str) -> bool {
    mask_password(url) != url
}

fn unavailable(e: &postgres::Error) -> StorageError {
    // The error's text never carries the connection string.
    StorageError::Unavailable(format!("PostgreSQL: {e}"))
}

/// Whether the connection is unusable after `e` (closed, terminated by the
/// server, an I/O error): it is then dropped, never reused.
fn is_broken(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.as_db_error() {
        // FATAL and PANIC end the session (e.g. pg_terminate_backend's 57P01).
        Some(db) => matches!(db.severity(), "FATAL" | "PANIC"),
        None => true,
    }
}

/// Keys as stored: an order-preserving escape of the two lowest bytes (TEXT
/// cannot hold NUL). Byte order and prefixes are kept: the code words
/// `01 01`, `01 02`, `02`, `03`, ... are ordered as the bytes they stand
/// for and none is a prefix of another.
fn encode_key(key: &str) -> Cow<'_, str> {
    if !key.bytes().any(|b| b <= 1) {
        return Cow::Borrowed(key);
    }
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        match c {
            '\0' => out.push_str("\u{1}\u{1}"),
            '\u{1}' => out.push_str("\u{1}\u{2}"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn decode_key(stored: String) -> String {
    if !stored.contains('\u{1}') {
        return stored;
    }
    let mut out = String::with_capacity(stored.len());
    let mut chars = stored.chars();
    while let Some(c) = chars.next() {
        match c {
            '\u{1}' => out.push(if chars.next() == Some('\u{1}') { '\0' } else { '\u{1}' }),
            c => out.push(c),
        }
    }
    out
}

/// The advisory lock key of a turn's name: the first 8 bytes of its SHA-256.
/// Two names that share a key only serialise each other.
fn lock_key(name: &str) -> i64 {
    let digest = Sha256::digest(format!("smartlock/turn/{name}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// A string as an SQL literal (standard-conforming strings, which every
/// connection sets); only for the few statements sent as one simple query.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\0', "").replace('\'', "''"))
}

/// One connection with its prepared statements.
struct PgConn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl PgConn {
    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }
}

struct PoolState {
    idle: Vec<PgConn>,
    /// Connections open, idle or in use.
    open: usize,
}

struct Inner {
    config: postgres::Config,
    masked: String,
    max: usize,
    state: Mutex<PoolState>,
    freed: Condvar,
}

/// A PostgreSQL database holding every tenant's namespace and outbox, the
/// schedule and the turns: the [`SqliteDb`](super::SqliteDb) of several
/// processes. Open it once per process; clones share its pool.
///
/// The URL is libpq's: `postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME`, a
/// Unix socket as `postgres://USER@%2Fvar%2Frun%2Fpostgresql/DBNAME` or
/// `postgres:///DBNAME?host=/var/run/postgresql&user=USER`, or the
/// `key=value` form. Without a password in it, `PGPASSWORD` is used when
/// set. Writes are durable on commit (`synchronous_commit` as the server
/// has it, `on` by default).
#[derive(Clone)]
pub struct PgDb {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PgDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDb").field("url", &self.inner.masked).field("max", &self.inner.max).finish()
    }
}

/// A connection taken from the pool; back into it when dropped, unless broken.
struct Pooled {
    conn: Option<PgConn>,
    db: Arc<Inner>,
    broken: bool,
}

impl std::ops::Deref for Pooled {
    type Target = PgConn;
    fn deref(&self) -> &PgConn {
        self.conn.as_ref().expect("a pooled connection is present until dropped")
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut PgConn {
        self.conn.as_mut().expect("a pooled connection is present until dropped")
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let mut state = self.db.state.lock().unwrap_or_else(PoisonError::into_inner);
        match self.conn.take() {
            Some(conn) if !self.broken && !conn.client.is_closed() => state.idle.push(conn),
            _ => state.open -= 1,
        }
        drop(state);
        self.db.freed.notify_one();
    }
}

impl PgDb {
    /// Connects to the database at `url` and creates the tables when they
    /// are missing, with at most [`DEFAULT_MAX_CONNECTIONS`] connections.
    /// Fails with [`StorageError::Unavailable`] (the message never carries
    /// the password).
    pub fn open(url: &str) -> Result<PgDb, StorageError> {
        Self::open_with(url, DEFAULT_MAX_CONNECTIONS)
    }

    /// As [`PgDb::open`], with at most `max_connections` (at least 2).
    pub fn open_with(url: &str, max_connections: usize) -> Result<PgDb, StorageError> {
        let masked = mask_password(url);
        let mut config = postgres::Config::from_str(url)
            .map_err(|e| StorageError::Unavailable(format!("{masked}: not a PostgreSQL URL: {e}")))?;
        if config.get_password().is_none() {
            if let Ok(password) = std::env::var("PGPASSWORD") {
                config.password(password);
            }
        }
        if config.get_application_name().is_none() {
            config.application_name("smartlock-host");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        // Notice a database host that went away within a minute or so.
        config.keepalives(true).keepalives_idle(Duration::from_secs(30));
        let db = PgDb {
            inner: Arc::new(Inner {
                config,
                masked,
                max: max_connections.max(2),
                state: Mutex::new(PoolState { idle: Vec::new(), open: 0 }),
                freed: Condvar::new(),
            }),
        };
        let mut conn = db.checkout()?;
        let schema = format!("BEGIN; SELECT pg_advisory_xact_lock({}); {PG_SCHEMA} COMMIT;", lock_key("schema"));
        conn.client.batch_execute(&schema).map_err(|e| {
            conn.broken = true;
            StorageError::Unavailable(format!("{}: creating the tables: {e}", db.inner.masked))
        })?;
        Ok(db)
    }

    /// The URL it was opened with, its password masked.
    pub fn url_masked(&self) -> &str {
        &self.inner.masked
    }

    /// The namespace of tenant `id` (rows keyed by this id), on the pool:
    /// every operation takes a connection for itself. For several processes
    /// working on one tenant, use [`PgDb::tenant_fenced`] and turns.
    pub fn tenant(&self, id: &str) -> PgStore {
        PgStore { db: self.clone(), tenant: id.to_owned(), fence: None }
    }

    /// The namespace of tenant `id` bound to `fence`: while a turn holds the
    /// fence ([`PgDb::begin_turn`]) every operation goes through the turn's
    /// connection, so none can happen once that session is gone; outside a
    /// turn it reads from the pool and refuses to write.
    pub fn tenant_fenced(&self, id: &str, fence: &Fence) -> PgStore {
        PgStore { db: self.clone(), tenant: id.to_owned(), fence: Some(fence.clone()) }
    }

    fn connect(&self) -> Result<PgConn, StorageError> {
        let mut client = self
            .inner
            .config
            .connect(NoTls)
            .map_err(|e| StorageError::Unavailable(format!("{}: {e}", self.inner.masked)))?;
        client
            .batch_execute(&format!("SET standard_conforming_strings = on; SET lock_timeout = '{LOCK_WAIT}'"))
            .map_err(|e| unavailable(&e))?;
        Ok(PgConn { client, statements: HashMap::new() })
    }

    fn checkout(&self) -> Result<Pooled, StorageError> {
        let inner = &self.inner;
        let deadline = std::time::Instant::now() + CHECKOUT_WAIT;
        let mut state = inner.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(conn) = state.idle.pop() {
                if conn.client.is_closed() {
                    state.open -= 1;
                    continue;
                }
                return Ok(Pooled { conn: Some(conn), db: inner.clone(), broken: false });
            }
            if state.open < inner.max {
                state.open += 1;
                drop(state);
                return match self.connect() {
                    Ok(conn) => Ok(Pooled { conn: Some(conn), db: inner.clone(), broken: false }),
                    Err(e) => {
                        inner.state.lock().unwrap_or_else(PoisonError::into_inner).open -= 1;
                        inner.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) else {
                return Err(StorageError::Unavailable(format!(
                    "PostgreSQL: all {} connections stayed busy for {CHECKOUT_WAIT:?}",
                    inner.max
                )));
            };
            state = inner.freed.wait_timeout(state, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    /// Runs `f` on a pooled connection; a read that met a connection the
    /// server had closed (a restart, an idle connection terminated) is
    /// tried once more on a new one.
    fn pooled<R>(
        &self,
        read_only: bool,
        mut f: impl FnMut(&mut PgConn) -> Result<R, postgres::Error>,
    ) -> Result<R, StorageError> {
        let mut attempt = 0;
        loop {
            let mut conn = self.checkout()?;
            match f(&mut conn) {
                Ok(r) => return Ok(r),
                Err(e) => {
                    if is_broken(&e) {
                        conn.broken = true;
                        if read_only && attempt == 0 {
                            attempt += 1;
                            continue;
                        }
                    }
                    return Err(unavailable(&e));
                }
            }
        }
    }

    /// Takes the turn `name` (e.g. a tenant's id): waits until no session of
    /// any process holds it, then holds it on one connection, which `fence`
    /// keeps for the stores bound to it until the turn ends
    /// ([`Turn::release`] or drop). A process that dies, or whose
    /// connection the server ends, releases it.
    ///
    /// `holder` names this process in the `smartlock_turns` table. The
    /// answer's [`Turn::previous_holder`] is set when the last holder ended
    /// without releasing the turn: that call may still have one request in
    /// flight (see `Fence::check`), so wait out its timeout before calling
    /// anything outside.
    pub fn begin_turn(&self, name: &str, fence: &Fence, holder: &str) -> Result<Turn, StorageError> {
        let mut conn = self.checkout()?;
        let key = lock_key(name);
        let mut acquire = || -> Result<Option<String>, postgres::Error> {
            let lock = conn.statement("SELECT pg_advisory_lock($1)")?;
            conn.client.execute(&lock, &[&key])?;
            // The marker's commit need not wait for the disk: a lost one
            // only costs the next holder a needless wait.
            let mark = format!(
                "BEGIN; SET LOCAL synchronous_commit TO off;
                 WITH old AS (SELECT holder FROM smartlock_turns WHERE name = {name})
                 INSERT INTO smartlock_turns (name, holder, since) VALUES ({name}, {holder}, now())
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, since = excluded.since
                 RETURNING (SELECT holder FROM old);
                 COMMIT;",
                name = literal(name),
                holder = literal(holder)
            );
            let mut previous = None;
            for message in conn.client.simple_query(&mark)? {
                if let postgres::SimpleQueryMessage::Row(row) = message {
                    previous = row.get(0).map(str::to_owned);
                }
            }
            Ok(previous)
        };
        let previous = match acquire() {
            Ok(previous) => previous,
            Err(e) => {
                // Dropping the connection ends the session and with it any
                // lock it took; a lock timeout leaves a usable connection.
                conn.broken = true;
                return Err(unavailable(&e));
            }
        };
        fence.hold(conn);
        Ok(Turn {
            fence: fence.clone(),
            name: name.to_owned(),
            key,
            holder: holder.to_owned(),
            previous_holder: previous,
            done: false,
        })
    }

    /// Adds `tenant` to the schedule (no-op when it is there), its first
    /// regular tick at `backstop_at`.
    pub fn schedule_add(&self, tenant: &str, backstop_at: i64) -> Result<(), StorageError> {
        self.pooled(false, |c| {
            let s = c.statement(
                "INSERT INTO smartlock_schedule (tenant, wake_at, backstop_at) VALUES ($1, NULL, $2)
                 ON CONFLICT (tenant) DO NOTHING",
            )?;
            c.client.execute(&s, &[&tenant, &backstop_at]).map(drop)
        })
    }

    /// Sets `tenant`'s next wake-up (`None`: none), adding it to the
    /// schedule when missing (its regular tick then due at once).
    pub fn set_wake_up(&self, tenant: &str, at: Option<i64>) -> Result<(), StorageError> {
        self.pooled(false, |c| {
            let s = c.statement(
                "INSERT INTO smartlock_schedule (tenant, wake_at, backstop_at) VALUES ($1, $2::bigint, COALESCE($2::bigint, 0))
                 ON CONFLICT (tenant) DO UPDATE SET wake_at = excluded.wake_at",
            )?;
            c.client.execute(&s, &[&tenant, &at]).map(drop)
        })
    }

    /// Claims up to `limit` tenants that are due at `now` — their wake-up or
    /// their regular tick — for this process: in one statement that skips
    /// rows other processes are claiming (`FOR UPDATE SKIP LOCKED`), a due
    /// wake-up is moved to `now + lease` (the next turn's report replaces
    /// it; if this process dies, another takes it then) and a due regular
    /// tick to `now + backstop`. Each due tick is claimed by one process.
    pub fn claim_due(&self, now: i64, lease: i64, backstop: i64, limit: i64) -> Result<Vec<String>, StorageError> {
        self.pooled(false, |c| {
            let s = c.statement(
                "WITH due AS (
                     SELECT tenant FROM smartlock_schedule
                     WHERE LEAST(wake_at, backstop_at) <= $1
                     ORDER BY LEAST(wake_at, backstop_at), tenant
                     LIMIT $4::bigint
                     FOR UPDATE SKIP LOCKED)
                 UPDATE smartlock_schedule s SET
                     wake_at = CASE WHEN s.wake_at <= $1 THEN $1 + $2::bigint ELSE s.wake_at END,
                     backstop_at = CASE WHEN s.backstop_at <= $1 THEN $1 + $3::bigint ELSE s.backstop_at END
                 FROM due WHERE s.tenant = due.tenant
                 RETURNING s.tenant",
            )?;
            let rows = c.client.query(&s, &[&now, &lease, &backstop, &limit])?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    /// The earliest instant anything in the schedule is due.
    pub fn next_due(&self) -> Result<Option<i64>, StorageError> {
        self.pooled(true, |c| {
            let s = c.statement("SELECT min(LEAST(wake_at, backstop_at)) FROM smartlock_schedule")?;
            Ok(c.client.query_one(&s, &[])?.get(0))
        })
    }

    /// A tenant's schedule row: (wake-up, next regular tick).
    pub fn schedule_of(&self, tenant: &str) -> Result<Option<(Option<i64>, i64)>, StorageError> {
        self.pooled(true, |c| {
            let s = c.statement("SELECT wake_at, backstop_at FROM smartlock_schedule WHERE tenant = $1")?;
            Ok(c.client.query_opt(&s, &[&tenant])?.map(|r| (r.get(0), r.get(1))))
        })
    }
}

/// Where a tenant's turn keeps its connection, shared by the stores bound to
/// it ([`PgDb::tenant_fenced`]); cheap to clone.
#[derive(Clone, Default)]
pub struct Fence {
    state: Arc<Mutex<FenceState>>,
}

#[derive(Default)]
enum FenceState {
    /// No turn: reads go to the pool, writes are refused.
    #[default]
    Free,
    /// In a turn: everything goes through its connection.
    Held(Box<Pooled>),
    /// The turn's connection broke: nothing more until the turn ends.
    Lost,
}

impl std::fmt::Debug for Fence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &*self.lock() {
            FenceState::Free => "free",
            FenceState::Held(_) => "held",
            FenceState::Lost => "lost",
        };
        f.debug_struct("Fence").field("state", &state).finish()
    }
}

impl Fence {
    /// A fence no turn holds.
    pub fn new() -> Fence {
        Fence::default()
    }

    fn lock(&self) -> MutexGuard<'_, FenceState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn hold(&self, conn: Pooled) {
        *self.lock() = FenceState::Held(Box::new(conn));
    }

    fn take(&self) -> Option<Pooled> {
        match std::mem::take(&mut *self.lock()) {
            FenceState::Held(conn) => Some(*conn),
            _ => None,
        }
    }

    /// Whether the turn still holds its session: one round trip to the
    /// database. Call it before anything the database cannot undo (a
    /// vendor request): once the session is gone another process may hold
    /// the turn. `Err` without a turn too.
    pub fn check(&self) -> Result<(), StorageError> {
        let mut state = self.lock();
        let FenceState::Held(conn) = &mut *state else {
            return Err(StorageError::Unavailable("the tenant's turn is not held".into()));
        };
        match conn.client.simple_query("") {
            Ok(_) => Ok(()),
            Err(e) => {
                if is_broken(&e) {
                    *state = FenceState::Lost;
                }
                Err(unavailable(&e))
            }
        }
    }

    /// Runs `f` on the turn's connection; `None` when no turn holds the fence.
    fn with<R>(&self, f: impl FnOnce(&mut PgConn) -> Result<R, postgres::Error>) -> Option<Result<R, StorageError>> {
        let mut state = self.lock();
        match &mut *state {
            FenceState::Free => None,
            FenceState::Lost => Some(Err(StorageError::Unavailable(
                "PostgreSQL: the tenant's turn was lost with its connection; nothing more is written in this call"
                    .into(),
            ))),
            FenceState::Held(conn) => Some(f(conn).map_err(|e| {
                if is_broken(&e) {
                    *state = FenceState::Lost;
                }
                unavailable(&e)
            })),
        }
    }
}

/// A turn held ([`PgDb::begin_turn`]); released by [`Turn::release`] or
/// when dropped.
pub struct Turn {
    fence: Fence,
    name: String,
    key: i64,
    holder: String,
    previous_holder: Option<String>,
    done: bool,
}

impl std::fmt::Debug for Turn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turn").field("name", &self.name).field("previous_holder", &self.previous_holder).finish()
    }
}

impl Turn {
    /// The holder that ended without releasing this turn before it was
    /// taken now (killed, or cut off from the database), if one did.
    pub fn previous_holder(&self) -> Option<&str> {
        self.previous_holder.as_deref()
    }

    /// Ends the turn: marks it released and, when `wake_up` is given, sets
    /// the schedule's wake-up of tenant `name` (`Some(None)`: none), in one
    /// round trip, then unlocks. Fails (and the session is dropped, which
    /// releases the lock too) when the connection was lost.
    pub fn release(mut self, wake_up: Option<Option<i64>>) -> Result<(), StorageError> {
        self.done = true;
        self.finish(wake_up)
    }

    fn finish(&mut self, wake_up: Option<Option<i64>>) -> Result<(), StorageError> {
        let Some(mut conn) = self.fence.take() else {
            return Err(StorageError::Unavailable("PostgreSQL: the turn's connection was lost".into()));
        };
        let wake = match wake_up {
            None => String::new(),
            Some(at) => format!(
                "INSERT INTO smartlock_schedule (tenant, wake_at, backstop_at) VALUES ({name}, {at}, {backstop})
                 ON CONFLICT (tenant) DO UPDATE SET wake_at = excluded.wake_at;",
                name = literal(&self.name),
                at = at.map_or("NULL".to_string(), |a| a.to_string()),
                backstop = at.unwrap_or(0),
            ),
        };
        let sql = format!(
            "BEGIN; SET LOCAL synchronous_commit TO off;
             UPDATE smartlock_turns SET holder = NULL WHERE name = {name} AND holder = {holder};
             {wake}
             COMMIT;
             SELECT pg_advisory_unlock({key});",
            name = literal(&self.name),
            holder = literal(&self.holder),
            key = self.key,
        );
        conn.client.simple_query(&sql).map(drop).map_err(|e| {
            // Never reuse a session that may still hold the lock.
            conn.broken = true;
            unavailable(&e)
        })
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if !self.done {
            self.done = true;
            if let Err(e) = self.finish(None) {
                tracing::warn!(turn = %self.name, error = %e, "releasing a turn failed (its session is closed)");
            }
        }
    }
}

/// One tenant's namespace in a [`PgDb`].
#[derive(Debug, Clone)]
pub struct PgStore {
    db: PgDb,
    tenant: String,
    fence: Option<Fence>,
}

impl PgStore {
    /// The tenant id its rows are stored under (the `tenant` column).
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// Runs `f` through the fence's turn when one holds it, else on the
    /// pool (writes then refused for a fenced store).
    fn run<R>(&self, write: bool, f: impl Fn(&mut PgConn) -> Result<R, postgres::Error>) -> Result<R, StorageError> {
        if let Some(fence) = &self.fence {
            if let Some(result) = fence.with(&f) {
                return result;
            }
            if write {
                return Err(StorageError::Unavailable(format!(
                    "PostgreSQL: tenant {:?} is written only in its turn",
                    self.tenant
                )));
            }
        }
        self.db.pooled(!write, f)
    }
}

impl KvStore for PgStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        check_key("key", key)?;
        let key = encode_key(key);
        self.run(false, |c| {
            let s = c.statement("SELECT value FROM smartlock_kv WHERE tenant = $1 AND key = $2")?;
            Ok(c.client.query_opt(&s, &[&self.tenant, &key.as_ref()])?.map(|r| r.get(0)))
        })
    }

    fn apply(&self, writes: &[Write]) -> Result<(), StorageError> {
        check_writes(writes)?;
        if writes.is_empty() {
            return Ok(());
        }
        // The batch's outcome per key (the last write wins), then one
        // statement: atomic without a transaction block, one round trip.
        let mut last: HashMap<Cow<'_, str>, Option<&[u8]>> = HashMap::new();
        for write in writes {
            match write {
                Write::Set { key, value } => last.insert(encode_key(key), Some(value.as_slice())),
                Write::Delete { key } => last.insert(encode_key(key), None),
            };
        }
        let (mut set_keys, mut set_values, mut deletes) = (Vec::new(), Vec::new(), Vec::new());
        for (key, value) in &last {
            match value {
                Some(v) => {
                    set_keys.push(key.as_ref());
                    set_values.push(*v);
                }
                None => deletes.push(key.as_ref()),
            }
        }
        self.run(true, |c| {
            let s = c.statement(
                "WITH gone AS (DELETE FROM smartlock_kv WHERE tenant = $1 AND key = ANY($2::text[]))
                 INSERT INTO smartlock_kv (tenant, key, value)
                 SELECT $1, k, v FROM unnest($3::text[], $4::bytea[]) AS u(k, v)
                 ON CONFLICT (tenant, key) DO UPDATE SET value = excluded.value",
            )?;
            c.client.execute(&s, &[&self.tenant, &deletes, &set_keys, &set_values]).map(drop)
        })
    }

    fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        check_list(prefix, start_after, limit)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (inclusive, lower) = match list_start(prefix, start_after) {
            Bound::Excluded(after) => (false, encode_key(after)),
            Bound::Included(from) => (true, encode_key(from)),
            Bound::Unbounded => (true, Cow::Borrowed("")),
        };
        let upper = prefix_upper_bound(&encode_key(prefix));
        let limit = i64::from(limit);
        let rows = self.run(false, |c| {
            // The bounds are compared in the columns' "C" collation: byte order.
            let s = match (inclusive, upper.is_some()) {
                (true, true) => c.statement(
                    "SELECT key, value FROM smartlock_kv WHERE tenant = $1 AND key >= $2 AND key < $4
                     ORDER BY key LIMIT $3",
                )?,
                (false, true) => c.statement(
                    "SELECT key, value FROM smartlock_kv WHERE tenant = $1 AND key > $2 AND key < $4
                     ORDER BY key LIMIT $3",
                )?,
                (true, false) => c.statement(
                    "SELECT key, value FROM smartlock_kv WHERE tenant = $1 AND key >= $2 ORDER BY key LIMIT $3",
                )?,
                (false, false) => c.statement(
                    "SELECT key, value FROM smartlock_kv WHERE tenant = $1 AND key > $2 ORDER BY key LIMIT $3",
                )?,
            };
            match &upper {
                Some(upper) => c.client.query(&s, &[&self.tenant, &lower.as_ref(), &limit, &upper.as_str()]),
                None => c.client.query(&s, &[&self.tenant, &lower.as_ref(), &limit]),
            }
        })?;
        Ok(rows.into_iter().map(|r| (decode_key(r.get(0)), r.get(1))).collect())
    }

    fn record_email(&self, dedup_key: &str, at: i64, subject: &str, body: &str) -> Result<bool, StorageError> {
        // TEXT holds no NUL: the e-mail import has checked the text already;
        // a NUL in it is dropped rather than failing the alert.
        let clean = |s: &str| s.replace('\0', "");
        let (dedup_key, subject, body) = (clean(dedup_key), clean(subject), clean(body));
        self.run(true, |c| {
            let s = c.statement(
                "INSERT INTO smartlock_outbox (tenant, dedup_key, at, subject, body) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (tenant, dedup_key) DO NOTHING",
            )?;
            Ok(c.client.execute(&s, &[&self.tenant, &dedup_key, &at, &subject, &body])? == 1)
        })
    }

    fn emails(&self) -> Result<Vec<Email>, StorageError> {
        self.run(false, |c| {
            let s =
                c.statement("SELECT at, dedup_key, subject, body FROM smartlock_outbox WHERE tenant = $1 ORDER BY id")?;
            let rows = c.client.query(&s, &[&self.tenant])?;
            Ok(rows
                .iter()
                .map(|r| Email { at: r.get(0), dedup_key: r.get(1), subject: r.get(2), body: r.get(3) })
                .collect())
        })
    }

    fn record_event(&self, id: &str, at: i64, json: &str) -> Result<bool, StorageError> {
        let (id, json) = (id.replace('\0', ""), json.replace('\0', ""));
        self.run(true, |c| {
            let s = c.statement(
                "INSERT INTO smartlock_events (tenant, event_id, at, body) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (tenant, event_id) DO NOTHING",
            )?;
            Ok(c.client.execute(&s, &[&self.tenant, &id, &at, &json])? == 1)
        })
    }

    fn events_after(&self, after: i64, limit: u32) -> Result<Vec<StoredEvent>, StorageError> {
        self.run(false, |c| {
            let s = c.statement(
                "SELECT seq, event_id, at, body FROM smartlock_events WHERE tenant = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )?;
            let rows = c.client.query(&s, &[&self.tenant, &after, &i64::from(limit)])?;
            Ok(rows
                .iter()
                .map(|r| StoredEvent { seq: r.get(0), id: r.get(1), at: r.get(2), json: r.get(3) })
                .collect())
        })
    }
}

/// For tests that need a PostgreSQL database: each gets a database of its
/// own on the server named by `SMARTLOCK_TEST_PG` (a URL whose user may
/// create databases; `.ci/run` starts a throw-away server and sets it).
#[doc(hidden)]
pub mod testing {
    use super::*;

    /// The environment variable naming the test server.
    pub const TEST_PG_ENV: &str = "SMARTLOCK_TEST_PG";

    /// A new, empty database's URL, or `None` (with a line on stderr saying
    /// so) when no server is configured. In CI (`CI` set) a missing server
    /// fails the test instead: the PostgreSQL tests never pass silently there.
    pub fn fresh_database(label: &str) -> Option<String> {
        let Some(base) = std::env::var(TEST_PG_ENV).ok().filter(|v| !v.is_empty()) else {
            let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
            assert!(
                !ci,
                "{TEST_PG_ENV} is not set in CI: .ci/run starts a PostgreSQL server and sets it; \
                 the PostgreSQL tests must not pass without one"
            );
            // Straight to stderr, past the test harness's capture: a skip
            // is said even when the test passes.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED (no PostgreSQL): {label} — set {TEST_PG_ENV}=postgres://USER@HOST/DB \
                 (a user that may create databases; .ci/run starts a throw-away server) to run it"
            );
            return None;
        };
        let mut random = [0u8; 4];
        getrandom::fill(&mut random).expect("random bytes");
        let name: String = format!(
            "smartlock_t_{}_{}_{}",
            label.chars().filter(char::is_ascii_alphanumeric).take(20).collect::<String>().to_lowercase(),
            std::process::id(),
            u32::from_be_bytes(random)
        );
        let mut client = postgres::Config::from_str(&base)
            .and_then(|c| c.connect(NoTls))
            .unwrap_or_else(|e| panic!("{TEST_PG_ENV}={}: {e}", mask_password(&base)));
        client.batch_execute(&format!("CREATE DATABASE {name}")).expect("CREATE DATABASE");
        Some(with_dbname(&base, &name))
    }

    /// `url` (URL form) naming database `name` instead.
    pub fn with_dbname(url: &str, name: &str) -> String {
        let (main, query) = match url.split_once('?') {
            Some((m, q)) => (m, Some(q)),
            None => (url, None),
        };
        let scheme_end = main.find("://").map_or(0, |i| i + 3);
        let path_start = main[scheme_end..].find('/').map_or(main.len(), |i| scheme_end + i);
        let mut out = format!("{}/{name}", &main[..path_start]);
        if let Some(q) = query {
            out.push('?');
            out.push_str(q);
        }
        out
    }

    /// A connection to the database at `url` for a test's own queries.
    pub fn client(url: &str) -> Client {
        postgres::Config::from_str(url).and_then(|c| c.connect(NoTls)).expect("connecting to the test database")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_in_every_form() {
        assert_eq!(mask_password("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(
            mask_password("postgresql://u:p%40ss@h/db?sslmode=disable"),
            "postgresql://u:***@h/db?sslmode=disable"
        );
        assert_eq!(mask_password("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            mask_password("postgres:///db?host=/tmp&password=x1&user=u"),
            "postgres:///db?host=/tmp&password=***&user=u"
        );
        assert_eq!(mask_password("host=/tmp password=s3 dbname=d"), "host=/tmp password=*** dbname=d");
        assert!(has_password("postgres://u:secret@h/db"));
        assert!(!has_password("postgres://u@h/db"));
    }

    #[test]
    fn the_key_escape_keeps_byte_order_and_prefixes() {
        let keys = ["", "\0", "\0\0", "\0\u{1}", "\u{1}", "\u{1}\0", "\u{2}", "a", "a\0", "a\0b", "a\u{1}", "ab", "é"];
        for a in keys {
            assert_eq!(decode_key(encode_key(a).into_owned()), a);
            for b in keys {
                assert_eq!(a.cmp(b), encode_key(a).as_bytes().cmp(encode_key(b).as_bytes()), "{a:?} {b:?}");
                assert_eq!(b.starts_with(a), encode_key(b).starts_with(encode_key(a).as_ref()), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn test_urls_name_another_database() {
        use testing::with_dbname;
        assert_eq!(with_dbname("postgres://u@h:5/postgres", "x"), "postgres://u@h:5/x");
        assert_eq!(
            with_dbname("postgres://u@%2Ftmp%2Fs/postgres?connect_timeout=5", "x"),
            "postgres://u@%2Ftmp%2Fs/x?connect_timeout=5"
        );
        assert_eq!(with_dbname("postgres:///postgres?host=/tmp", "x"), "postgres:///x?host=/tmp");
        assert_eq!(with_dbname("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
