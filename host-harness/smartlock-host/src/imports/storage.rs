//! The `storage` import: one tenant's durable key-value namespace, and the
//! tenant's e-mail outbox kept on the same backend.
//!
//! [`KvStore`] is the backend trait; [`MemoryStore`] (a `BTreeMap`) and
//! [`SqliteStore`] (one SQLite file shared by all tenants, see [`SqliteDb`])
//! implement it. Both enforce the same size limits ([`MAX_KEY_BYTES`],
//! [`MAX_VALUE_BYTES`], [`MAX_LIST_LIMIT`]) so the plugin sees one contract
//! whatever the backend.

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::bindings::generated::pms::smartlock::storage as wit;
use crate::SmartlockCtx;

/// Longest key (and prefix, and `start-after`) accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 512;
/// Largest value accepted, in bytes.
pub const MAX_VALUE_BYTES: usize = 256 * 1024;
/// Largest `limit` accepted by `list`.
pub const MAX_LIST_LIMIT: u32 = 1000;

/// Why a storage operation did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The backend failed; the operation did not happen.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A key, value or limit exceeded the host's size limits.
    #[error("too large: {0}")]
    TooLarge(String),
}

/// One write of an atomic batch ([`KvStore::apply`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Stores `value` under `key`, replacing any earlier value.
    Set {
        /// At most [`MAX_KEY_BYTES`].
        key: String,
        /// At most [`MAX_VALUE_BYTES`]; opaque to the host.
        value: Vec<u8>,
    },
    /// Removes `key`; removing a key that is not there is not an error.
    Delete {
        /// At most [`MAX_KEY_BYTES`].
        key: String,
    },
}

/// A code event as a host recorded it (R27): its place in the tenant's
/// feed, its id, when it happened and the event as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Position in the tenant's feed, increasing: the cursor after it.
    pub seq: i64,
    /// The plugin's event id (unique per tenant).
    pub id: String,
    /// When it happened (the plugin's clock, epoch seconds).
    pub at: i64,
    /// The event, as the `code-events` import encodes it.
    pub json: String,
}

/// An e-mail to the tenant's owner, as recorded in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Email {
    /// When it was queued (the tenant clock's seconds).
    pub at: i64,
    /// The plugin's name for the e-mail's purpose (e.g. `alert/booking-42`);
    /// unique per tenant.
    pub dedup_key: String,
    /// Plain-text subject line, at most
    /// [`email::MAX_SUBJECT_BYTES`](super::email::MAX_SUBJECT_BYTES).
    pub subject: String,
    /// Plain-text body, at most
    /// [`email::MAX_BODY_BYTES`](super::email::MAX_BODY_BYTES).
    pub body: String,
}

/// One tenant's key-value namespace and e-mail outbox.
///
/// Keys are ordered by their UTF-8 bytes. Implementations must be safe to call
/// from several threads; the runtime serialises calls per tenant anyway.
///
/// The host itself does not deliver e-mail: a PMS reads the outbox
/// ([`KvStore::emails`], or the `outbox` table of a [`SqliteDb`]) and sends
/// what it has not sent yet.
///
/// To plug in another database, implement this trait with the same
/// contract: refuse oversized input with [`StorageError::TooLarge`] (see the
/// `MAX_*` constants), report backend failures as
/// [`StorageError::Unavailable`] without partial effects, and make a
/// successful write durable before returning (the plugin writes its intent
/// before calling the vendor).
pub trait KvStore: Send + Sync {
    /// The value stored under `key`, or `None` when there is none.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError>;

    /// Applies all writes in order, atomically: all of them or none.
    fn apply(&self, writes: &[Write]) -> Result<(), StorageError>;

    /// Entries whose key starts with `prefix`, ascending by key bytes, strictly
    /// after `start_after` when given, at most `limit` of them.
    fn list(&self, prefix: &str, start_after: Option<&str>, limit: u32)
        -> Result<Vec<(String, Vec<u8>)>, StorageError>;

    /// Records an e-mail in the outbox unless one with the same `dedup_key`
    /// was ever recorded for this tenant: `Ok(false)` means a duplicate,
    /// dropped. Sizes are checked by the `email` import, not here.
    fn record_email(&self, dedup_key: &str, at: i64, subject: &str, body: &str) -> Result<bool, StorageError>;

    /// The outbox, in the order the e-mails were recorded.
    fn emails(&self) -> Result<Vec<Email>, StorageError>;

    /// Records a code event (R27) unless one with the same `id` was ever
    /// recorded for this tenant: `Ok(false)` means a duplicate, dropped.
    /// `json` is the event as the `code-events` import encodes it.
    fn record_event(&self, id: &str, at: i64, json: &str) -> Result<bool, StorageError>;

    /// Recorded events after the cursor `after` (0: from the first), in the
    /// order they were recorded, at most `limit`: a feed's page. Each
    /// event's `seq` is the cursor that follows it.
    fn events_after(&self, after: i64, limit: u32) -> Result<Vec<StoredEvent>, StorageError>;

    /// [`apply`](Self::apply) for a batch the caller gives away: the same
    /// contract, and a backend that keeps the keys and values as they are
    /// (as [`MemoryStore`] does) takes them without copying. The plugin's
    /// writes arrive this way.
    fn apply_owned(&self, writes: Vec<Write>) -> Result<(), StorageError> {
        self.apply(&writes)
    }

    /// Stores one value: a batch of one [`Write::Set`].
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StorageError> {
        self.apply(&[Write::Set { key: key.to_owned(), value: value.to_vec() }])
    }

    /// Removes one key (absent is fine): a batch of one [`Write::Delete`].
    fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.apply(&[Write::Delete { key: key.to_owned() }])
    }
}

pub(crate) fn check_key(what: &str, key: &str) -> Result<(), StorageError> {
    if key.len() > MAX_KEY_BYTES {
        return Err(StorageError::TooLarge(format!("{what} of {} bytes exceeds {MAX_KEY_BYTES} bytes", key.len())));
    }
    Ok(())
}

pub(crate) fn check_writes(writes: &[Write]) -> Result<(), StorageError> {
    for write in writes {
        match write {
            Write::Set { key, value } => {
                check_key("key", key)?;
                if value.len() > MAX_VALUE_BYTES {
                    return Err(StorageError::TooLarge(format!(
                        "value of {} bytes for key {key:?} exceeds {MAX_VALUE_BYTES} bytes",
                        value.len()
                    )));
                }
            }
            Write::Delete { key } => check_key("key", key)?,
        }
    }
    Ok(())
}

pub(crate) fn check_list(prefix: &str, start_after: Option<&str>, limit: u32) -> Result<(), StorageError> {
    check_key("prefix", prefix)?;
    if let Some(start_after) = start_after {
        check_key("start-after", start_after)?;
    }
    if limit > MAX_LIST_LIMIT {
        return Err(StorageError::TooLarge(format!("list limit {limit} exceeds {MAX_LIST_LIMIT}")));
    }
    Ok(())
}

/// Where a listing starts: at `prefix` (inclusive), or just after
/// `start_after` when that is further on.
pub(crate) fn list_start<'a>(prefix: &'a str, start_after: Option<&'a str>) -> Bound<&'a str> {
    match start_after {
        Some(after) if after >= prefix => Bound::Excluded(after),
        _ => Bound::Included(prefix),
    }
}

/// The least string greater than every string that starts with `prefix`, or
/// `None` when there is none (empty prefix). UTF-8 byte order is code point
/// order, so incrementing the last code point that can be incremented gives
/// the bound, and it stays valid UTF-8.
pub fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last as u32 {
            0xD7FF => Some('\u{E000}'),
            n => char::from_u32(n + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// A tenant namespace in memory: for tests, demos and the benchmark.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    entries: BTreeMap<String, Vec<u8>>,
    outbox: Vec<Email>,
    events: Vec<StoredEvent>,
    /// The dedup keys of `outbox` and the ids of `events`: a repeat is
    /// found without a scan.
    email_keys: HashSet<String>,
    event_ids: HashSet<String>,
}

impl MemoryStore {
    /// An empty namespace with an empty outbox; everything is lost when it
    /// is dropped.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every stored entry, in key order.
    pub fn entries(&self) -> Vec<(String, Vec<u8>)> {
        self.lock().entries.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn lock(&self) -> MutexGuard<'_, MemoryInner> {
        // A panic elsewhere while holding the lock leaves the map intact.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl KvStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        check_key("key", key)?;
        Ok(self.lock().entries.get(key).cloned())
    }

    fn apply(&self, writes: &[Write]) -> Result<(), StorageError> {
        self.apply_owned(writes.to_vec())
    }

    fn apply_owned(&self, writes: Vec<Write>) -> Result<(), StorageError> {
        check_writes(&writes)?;
        let mut inner = self.lock();
        for write in writes {
            match write {
                Write::Set { key, value } => {
                    inner.entries.insert(key, value);
                }
                Write::Delete { key } => {
                    inner.entries.remove(&key);
                }
            }
        }
        Ok(())
    }

    fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        check_list(prefix, start_after, limit)?;
        let inner = self.lock();
        let range = inner.entries.range::<str, _>((list_start(prefix, start_after), Bound::Unbounded));
        Ok(range
            .take_while(|(key, _)| key.starts_with(prefix))
            .take(limit as usize)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn record_email(&self, dedup_key: &str, at: i64, subject: &str, body: &str) -> Result<bool, StorageError> {
        let mut inner = self.lock();
        if !inner.email_keys.insert(dedup_key.to_owned()) {
            return Ok(false);
        }
        inner.outbox.push(Email {
            at,
            dedup_key: dedup_key.to_owned(),
            subject: subject.to_owned(),
            body: body.to_owned(),
        });
        Ok(true)
    }

    fn emails(&self) -> Result<Vec<Email>, StorageError> {
        Ok(self.lock().outbox.clone())
    }

    fn record_event(&self, id: &str, at: i64, json: &str) -> Result<bool, StorageError> {
        let mut inner = self.lock();
        if !inner.event_ids.insert(id.to_owned()) {
            return Ok(false);
        }
        let seq = inner.events.len() as i64 + 1;
        inner.events.push(StoredEvent { seq, id: id.to_owned(), at, json: json.to_owned() });
        Ok(true)
    }

    fn events_after(&self, after: i64, limit: u32) -> Result<Vec<StoredEvent>, StorageError> {
        // `seq` is the position plus one: the events after `after` start at index `after`.
        let inner = self.lock();
        let from = usize::try_from(after).unwrap_or(0).min(inner.events.len());
        Ok(inner.events[from..].iter().take(limit as usize).cloned().collect())
    }
}

/// One SQLite file holding every tenant's namespace and outbox.
///
/// Open it once per process and hand out [`SqliteDb::tenant`] namespaces;
/// clones share one connection, so storage operations of all tenants take
/// turns on it.
///
/// WAL mode with `synchronous = FULL`: a committed write survives a crash of
/// the process or the machine, which the plugin's "write before the vendor
/// call" rule relies on. Keys are `TEXT` with the default binary collation,
/// so SQLite orders them by bytes and a prefix listing is a range scan of the
/// `(tenant, key)` primary key.
#[derive(Clone)]
pub struct SqliteDb {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDb").field("path", &self.path).finish()
    }
}

/// The tables: `kv (tenant, key, value)` and `outbox`. One file for every
/// host (the Python host ships the same file), so the hosts share the schema
/// and the key order.
pub const SCHEMA: &str = include_str!("schema.sql");

/// Creates `path` with mode 0600 if it is missing, or narrows an existing
/// file's mode to 0600 (and its `-wal`/`-shm` files') before SQLite opens it.
#[cfg(unix)]
fn owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = Path::new(&name);
        if let Ok(meta) = std::fs::metadata(file) {
            if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn owner_only(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

fn unavailable(e: rusqlite::Error) -> StorageError {
    StorageError::Unavailable(e.to_string())
}

impl SqliteDb {
    /// Opens (or creates) the database file and its tables, in WAL mode.
    /// Open each file once per process (other connections wait up to 5 s for
    /// a lock). Fails with [`StorageError::Unavailable`].
    ///
    /// The file holds vendor credentials and tokens: on Unix it is created
    /// readable and writable by its owner only (0600), an existing file that
    /// others could read is narrowed to that, and SQLite gives its `-wal`
    /// and `-shm` files the same mode.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StorageError> {
        let path = path.as_ref().to_path_buf();
        owner_only(&path).map_err(|e| StorageError::Unavailable(format!("{}: {e}", path.display())))?;
        let conn = Connection::open(&path).map_err(unavailable)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(unavailable)?;
        // The schema first: it sets a new file's page size, which WAL mode
        // would fix at the default.
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(unavailable)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(unavailable)?;
        Ok(SqliteDb { conn: Arc::new(Mutex::new(conn)), path })
    }

    /// The database file it was opened with (the `-wal` and `-shm` files
    /// beside it belong to it too).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The namespace of tenant `id`, for [`Tenant::new`](crate::Tenant::new):
    /// rows are keyed by this id, so use the same id as the
    /// [`Tenant`](crate::Tenant) (the runtime does not check). Cheap; shares
    /// this database's one connection.
    pub fn tenant(&self, id: &str) -> SqliteStore {
        SqliteStore { db: self.clone(), tenant: id.to_owned() }
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One tenant's namespace in a [`SqliteDb`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    db: SqliteDb,
    tenant: String,
}

impl SqliteStore {
    /// The tenant id its rows are stored under (the `tenant` column).
    pub fn tenant(&self) -> &str {
        &self.tenant
    }
}

impl KvStore for SqliteStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        check_key("key", key)?;
        let conn = self.db.lock();
        let mut stmt =
            conn.prepare_cached("SELECT value FROM kv WHERE tenant = ?1 AND key = ?2").map_err(unavailable)?;
        stmt.query_row(params![self.tenant, key], |row| row.get(0)).optional().map_err(unavailable)
    }

    fn apply(&self, writes: &[Write]) -> Result<(), StorageError> {
        check_writes(writes)?;
        let mut conn = self.db.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
        {
            let mut set = tx
                .prepare_cached("INSERT INTO kv (tenant, key, value) VALUES (?1, ?2, ?3) ON CONFLICT (tenant, key) DO UPDATE SET value = excluded.value")
                .map_err(unavailable)?;
            let mut delete = tx.prepare_cached("DELETE FROM kv WHERE tenant = ?1 AND key = ?2").map_err(unavailable)?;
            for write in writes {
                match write {
                    Write::Set { key, value } => set.execute(params![self.tenant, key, value]),
                    Write::Delete { key } => delete.execute(params![self.tenant, key]),
                }
                .map_err(unavailable)?;
            }
        }
        // Dropping `tx` on an error above rolls the whole batch back.
        tx.commit().map_err(unavailable)
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
        let (lower_op, lower) = match list_start(prefix, start_after) {
            Bound::Excluded(after) => (">", after),
            Bound::Included(from) => (">=", from),
            Bound::Unbounded => (">=", ""),
        };
        let upper = prefix_upper_bound(prefix);
        let sql = format!(
            "SELECT key, value FROM kv WHERE tenant = ?1 AND key {lower_op} ?2 {} ORDER BY key LIMIT ?3",
            if upper.is_some() { "AND key < ?4" } else { "" }
        );
        let conn = self.db.lock();
        let mut stmt = conn.prepare_cached(&sql).map_err(unavailable)?;
        let rows = match &upper {
            Some(upper) => stmt.query(params![self.tenant, lower, limit, upper]),
            None => stmt.query(params![self.tenant, lower, limit]),
        }
        .map_err(unavailable)?;
        rows.mapped(|row| Ok((row.get(0)?, row.get(1)?))).collect::<Result<_, _>>().map_err(unavailable)
    }

    fn record_email(&self, dedup_key: &str, at: i64, subject: &str, body: &str) -> Result<bool, StorageError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare_cached(
                "INSERT INTO outbox (tenant, dedup_key, at, subject, body) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant, dedup_key) DO NOTHING",
            )
            .map_err(unavailable)?;
        let inserted = stmt.execute(params![self.tenant, dedup_key, at, subject, body]).map_err(unavailable)?;
        Ok(inserted == 1)
    }

    fn emails(&self) -> Result<Vec<Email>, StorageError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare_cached("SELECT at, dedup_key, subject, body FROM outbox WHERE tenant = ?1 ORDER BY id")
            .map_err(unavailable)?;
        let rows = stmt
            .query_map(params![self.tenant], |row| {
                Ok(Email { at: row.get(0)?, dedup_key: row.get(1)?, subject: row.get(2)?, body: row.get(3)? })
            })
            .map_err(unavailable)?;
        rows.collect::<Result<_, _>>().map_err(unavailable)
    }

    fn record_event(&self, id: &str, at: i64, json: &str) -> Result<bool, StorageError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare_cached(
                "INSERT INTO events (tenant, event_id, at, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (tenant, event_id) DO NOTHING",
            )
            .map_err(unavailable)?;
        let inserted = stmt.execute(params![self.tenant, id, at, json]).map_err(unavailable)?;
        Ok(inserted == 1)
    }

    fn events_after(&self, after: i64, limit: u32) -> Result<Vec<StoredEvent>, StorageError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, event_id, at, body FROM events WHERE tenant = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )
            .map_err(unavailable)?;
        let rows = stmt
            .query_map(params![self.tenant, after, limit], |row| {
                Ok(StoredEvent { seq: row.get(0)?, id: row.get(1)?, at: row.get(2)?, json: row.get(3)? })
            })
            .map_err(unavailable)?;
        rows.collect::<Result<_, _>>().map_err(unavailable)
    }
}

// ---- the WIT import -------------------------------------------------------

impl From<StorageError> for wit::StorageError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Unavailable(m) => wit::StorageError::Unavailable(m),
            StorageError::TooLarge(m) => wit::StorageError::TooLarge(m),
        }
    }
}

impl SmartlockCtx {
    fn storage_result<T>(&self, op: &str, result: Result<T, StorageError>) -> Result<T, wit::StorageError> {
        if let Err(StorageError::Unavailable(message)) = &result {
            tracing::warn!(tenant = %self.tenant.id, op, %message, "storage failed");
        }
        result.map_err(Into::into)
    }
}

impl wit::Host for SmartlockCtx {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, wit::StorageError>> {
        let result = self.in_host(|s| s.tenant.storage.get(&key));
        Ok(self.storage_result("get", result))
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), wit::StorageError>> {
        let result = self.in_host(|s| s.tenant.storage.apply_owned(vec![Write::Set { key, value }]));
        Ok(self.storage_result("set", result))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), wit::StorageError>> {
        let result = self.in_host(|s| s.tenant.storage.apply_owned(vec![Write::Delete { key }]));
        Ok(self.storage_result("delete", result))
    }

    fn apply(&mut self, writes: Vec<wit::Write>) -> wasmtime::Result<Result<(), wit::StorageError>> {
        let writes: Vec<Write> = writes
            .into_iter()
            .map(|w| match w {
                wit::Write::Set(wit::Entry { key, value }) => Write::Set { key, value },
                wit::Write::Delete(key) => Write::Delete { key },
            })
            .collect();
        let result = self.in_host(|s| s.tenant.storage.apply_owned(writes));
        Ok(self.storage_result("apply", result))
    }

    fn list(
        &mut self,
        prefix: String,
        start_after: Option<String>,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<wit::Entry>, wit::StorageError>> {
        let result = self.in_host(|s| s.tenant.storage.list(&prefix, start_after.as_deref(), limit));
        Ok(self
            .storage_result("list", result)
            .map(|entries| entries.into_iter().map(|(key, value)| wit::Entry { key, value }).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("host-harness-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("store.sqlite")
    }

    fn set(store: &dyn KvStore, key: &str, value: &str) {
        store.set(key, value.as_bytes()).unwrap();
    }

    fn keys(entries: Vec<(String, Vec<u8>)>) -> Vec<String> {
        entries.into_iter().map(|(k, _)| k).collect()
    }

    /// The listing contract, run against every backend.
    fn listing_contract(store: &dyn KvStore) {
        for key in ["due/0002", "due/0001", "due/", "due0", "du", "due/0010", "duf", "due/\u{10FFFF}", "due/é"] {
            set(store, key, key);
        }
        let all = keys(store.list("due/", None, 100).unwrap());
        assert_eq!(all, ["due/", "due/0001", "due/0002", "due/0010", "due/é", "due/\u{10FFFF}"]);
        assert_eq!(keys(store.list("due/", None, 2).unwrap()), ["due/", "due/0001"]);
        assert_eq!(keys(store.list("due/", Some("due/0001"), 2).unwrap()), ["due/0002", "due/0010"]);
        // A start-after before the prefix is the same as none; after it, nothing.
        assert_eq!(keys(store.list("due/", Some("a"), 1).unwrap()), ["due/"]);
        assert!(store.list("due/", Some("zzz"), 10).unwrap().is_empty());
        assert!(store.list("due/", None, 0).unwrap().is_empty());
        assert_eq!(store.list("", None, 1000).unwrap().len(), 9);
        assert_eq!(keys(store.list("due/\u{10FFFF}", None, 10).unwrap()), ["due/\u{10FFFF}"]);
        assert_eq!(store.list("due/0001", None, 10).unwrap()[0].1, b"due/0001");
    }

    fn apply_contract(store: &dyn KvStore) {
        set(store, "a", "1");
        set(store, "b", "2");
        store
            .apply(&[
                Write::Set { key: "c".into(), value: b"3".to_vec() },
                Write::Delete { key: "a".into() },
                Write::Set { key: "c".into(), value: b"4".to_vec() },
            ])
            .unwrap();
        assert_eq!(keys(store.list("", None, 10).unwrap()), ["b", "c"]);
        assert_eq!(store.get("c").unwrap().as_deref(), Some(&b"4"[..]));
        // One oversized write refuses the whole batch.
        let refused = store.apply(&[
            Write::Delete { key: "b".into() },
            Write::Set { key: "d".into(), value: vec![0; MAX_VALUE_BYTES + 1] },
        ]);
        assert!(matches!(refused, Err(StorageError::TooLarge(_))), "{refused:?}");
        assert_eq!(keys(store.list("", None, 10).unwrap()), ["b", "c"]);
    }

    fn limits_contract(store: &dyn KvStore) {
        let long_key = "k".repeat(MAX_KEY_BYTES + 1);
        assert!(matches!(store.set(&long_key, b"v"), Err(StorageError::TooLarge(_))));
        assert!(matches!(store.get(&long_key), Err(StorageError::TooLarge(_))));
        assert!(store.set(&"k".repeat(MAX_KEY_BYTES), &vec![1; MAX_VALUE_BYTES]).is_ok());
        assert!(matches!(store.list("", None, MAX_LIST_LIMIT + 1), Err(StorageError::TooLarge(_))));
        assert!(store.list("", None, MAX_LIST_LIMIT).is_ok());
    }

    fn outbox_contract(store: &dyn KvStore) {
        assert!(store.record_email("alert/b1", 10, "s1", "body1").unwrap());
        assert!(store.record_email("alert/b2", 20, "s2", "body2").unwrap());
        assert!(!store.record_email("alert/b1", 30, "again", "again").unwrap());
        let emails = store.emails().unwrap();
        assert_eq!(emails.len(), 2);
        assert_eq!((emails[0].at, emails[0].dedup_key.as_str(), emails[0].subject.as_str()), (10, "alert/b1", "s1"));
        assert_eq!(emails[1].dedup_key, "alert/b2");
    }

    #[test]
    fn prefix_upper_bounds() {
        assert_eq!(prefix_upper_bound(""), None);
        assert_eq!(prefix_upper_bound("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
        assert_eq!(prefix_upper_bound("x\u{D7FF}").as_deref(), Some("x\u{E000}"));
    }

    #[test]
    fn memory_store_contract() {
        listing_contract(&MemoryStore::new());
        apply_contract(&MemoryStore::new());
        limits_contract(&MemoryStore::new());
        outbox_contract(&MemoryStore::new());
    }

    #[test]
    fn sqlite_store_contract() {
        let db = SqliteDb::open(temp_db("contract")).unwrap();
        listing_contract(&db.tenant("t-list"));
        apply_contract(&db.tenant("t-apply"));
        limits_contract(&db.tenant("t-limits"));
        outbox_contract(&db.tenant("t-outbox"));
    }

    #[test]
    fn sqlite_tenants_are_separate_namespaces() {
        let db = SqliteDb::open(temp_db("namespaces")).unwrap();
        let (a, b) = (db.tenant("a"), db.tenant("b"));
        set(&a, "k/1", "a");
        set(&b, "k/2", "b");
        assert_eq!(keys(a.list("k/", None, 10).unwrap()), ["k/1"]);
        assert_eq!(b.get("k/1").unwrap(), None);
        assert!(a.record_email("x", 1, "s", "b").unwrap());
        assert!(b.record_email("x", 1, "s", "b").unwrap());
        assert_eq!(a.emails().unwrap().len(), 1);
    }

    #[test]
    fn sqlite_outbox_dedup_and_data_survive_reopening() {
        let path = temp_db("reopen");
        {
            let db = SqliteDb::open(&path).unwrap();
            let t = db.tenant("t");
            assert!(t.record_email("alert/b1", 10, "subject", "body").unwrap());
            set(&t, "booking/b1", "state");
        }
        let db = SqliteDb::open(&path).unwrap();
        let t = db.tenant("t");
        assert!(!t.record_email("alert/b1", 99, "subject again", "body again").unwrap());
        assert_eq!(t.emails().unwrap().len(), 1);
        assert_eq!(t.emails().unwrap()[0].at, 10);
        assert_eq!(t.get("booking/b1").unwrap().as_deref(), Some(&b"state"[..]));
    }

    fn page_size(db: &SqliteDb) -> i64 {
        db.lock().query_row("PRAGMA page_size", [], |row| row.get(0)).unwrap()
    }

    /// A booking record (1 to 2 KB) fits in its b-tree cell, so a lookup
    /// reads no overflow pages; a file made with SQLite's default pages
    /// keeps them and works as before.
    #[test]
    fn sqlite_new_files_get_16_kib_pages_and_older_files_keep_theirs() {
        let db = SqliteDb::open(temp_db("pages")).unwrap();
        assert_eq!(page_size(&db), 16384);
        assert_eq!(db.lock().query_row("PRAGMA journal_mode", [], |row| row.get::<_, String>(0)).unwrap(), "wal");

        let path = temp_db("old-pages");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            conn.execute_batch(&SCHEMA.replace("PRAGMA page_size = 16384;", "")).unwrap();
            conn.execute("INSERT INTO kv (tenant, key, value) VALUES ('t', 'k', x'01')", []).unwrap();
        }
        let db = SqliteDb::open(&path).unwrap();
        assert_eq!(page_size(&db), 4096);
        assert_eq!(db.tenant("t").get("k").unwrap(), Some(vec![1]));
    }

    #[test]
    fn sqlite_prefix_listing_uses_the_primary_key_range() {
        let db = SqliteDb::open(temp_db("plan")).unwrap();
        let conn = db.lock();
        let plan: Vec<String> = conn
            .prepare("EXPLAIN QUERY PLAN SELECT key, value FROM kv WHERE tenant = ?1 AND key >= ?2 AND key < ?3 ORDER BY key LIMIT 10")
            .unwrap()
            .query_map(params!["t", "due/", "due0"], |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("SEARCH kv USING PRIMARY KEY (tenant=? AND key>? AND key<?)"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
