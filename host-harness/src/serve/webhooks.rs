//! Code events for the PMS (R27, R33): the feed's entries, each tenant's
//! webhook (a URL and a secret the service makes), and the worker that
//! POSTs every recorded event to it, signed, in the order recorded.
//!
//! Delivery is at least once and in order per tenant (so per booking): the
//! worker sends the events after the tenant's delivery cursor one by one
//! and moves the cursor past an event only once the receiver answered 2xx.
//! A failure (no answer within [`DELIVERY_TIMEOUT`], a refused connection,
//! any other status) stops that tenant's round; it is tried again after a
//! backoff that doubles from [`FIRST_RETRY`] up to [`MAX_RETRY`], from the
//! same event. Each tenant's round runs on its own thread, at most
//! [`PARALLEL_DELIVERIES`] at once, so a slow receiver holds up only its own
//! tenant, and never the API or the ticks (which do not wait for it).
//!
//! With PostgreSQL and several processes, a round holds the turn
//! `{tenant}/webhook` (a session advisory lock, distinct from the tenant's
//! own turn, so the API is not held up) and moves the cursor through that
//! turn's session: one process at a time sends a tenant's events, and a
//! process cut off from the database can no longer move the cursor.
//!
//! The secret is shown once, in the answer that makes it; it is kept in the
//! service's database (it must be, to sign) and never appears in any other
//! answer, log line or event.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit as _, Mac as _};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::api;
use crate::imports::{KvStore, StorageError, StoredEvent};
use crate::Fence;

use super::host::Host;
use super::json::{utc, ApiError};
use super::keys::{hex, random_hex};

/// The namespace of the webhooks and their delivery cursors (a tenant id has no `/`).
const NAMESPACE: &str = "host/webhooks";
const HOOK_PREFIX: &str = "hook/";
const CURSOR_PREFIX: &str = "cursor/";
/// A secret reads `whsec_` and 48 hex digits (192 random bits).
pub const SECRET_PREFIX: &str = "whsec_";
const SECRET_HEX: usize = 48;
/// Longest webhook URL, in bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// The most entries of one feed page, and the default.
pub const MAX_PAGE: u32 = 500;
pub const DEFAULT_PAGE: u32 = 100;
/// Events sent in one round of a tenant before others get their turn.
const ROUND: u32 = 50;
/// A receiver has this long to accept the connection...
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// ...and this long for the whole delivery.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// The first retry after a failure; each further failure doubles it...
pub const FIRST_RETRY: Duration = Duration::from_secs(1);
/// ...up to this.
pub const MAX_RETRY: Duration = Duration::from_secs(300);
/// Tenants whose events are being sent at once.
pub const PARALLEL_DELIVERIES: usize = 4;
/// How often the worker looks for events to send.
const POLL: Duration = Duration::from_millis(250);

/// The header with the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub const SIGNATURE_HEADER: &str = "Smartlock-Signature";
/// The header with the event's id (a receiver drops a repeat by it).
pub const EVENT_ID_HEADER: &str = "Smartlock-Event-Id";

/// A tenant's webhook as stored.
#[derive(Clone, Serialize, Deserialize)]
struct HookRecord {
    url: String,
    secret: String,
    created: i64,
}

impl std::fmt::Debug for HookRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookRecord").field("url", &self.url).field("created", &self.created).finish_non_exhaustive()
    }
}

fn store(host: &Host) -> Arc<dyn KvStore> {
    host.db.store(NAMESPACE)
}

fn read_hook(store: &dyn KvStore, tenant: &str) -> Result<Option<HookRecord>, StorageError> {
    let Some(bytes) = store.get(&format!("{HOOK_PREFIX}{tenant}"))? else { return Ok(None) };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| StorageError::Unavailable(format!("the webhook of {tenant} is unreadable: {e}")))
}

fn read_cursor(store: &dyn KvStore, tenant: &str) -> Result<i64, StorageError> {
    Ok(store
        .get(&format!("{CURSOR_PREFIX}{tenant}"))?
        .and_then(|b| std::str::from_utf8(&b).ok().and_then(|s| s.parse().ok()))
        .unwrap_or(0))
}

fn write_cursor(store: &dyn KvStore, tenant: &str, cursor: i64) -> Result<(), StorageError> {
    store.set(&format!("{CURSOR_PREFIX}{tenant}"), cursor.to_string().as_bytes())
}

/// One feed entry (and one webhook body): the event as
/// [`event_json`](crate::scenario::event_json) shapes it, with its `cursor`.
pub fn entry_json(event: &StoredEvent) -> Value {
    let mut value = match serde_json::from_str::<api::CodeEvent>(&event.json) {
        Ok(e) => crate::scenario::event_json(&e),
        // Recorded by another contract version: its id and instant still say what it is.
        Err(_) => json!({"id": event.id, "at": utc(event.at), "state": "unknown", "detail": ""}),
    };
    value["cursor"] = json!(event.seq);
    value
}

/// A feed page: the tenant's events after `after`, at most `limit`, and the
/// cursor to ask after next (`after` itself when there is nothing new).
pub fn feed(host: &Host, tenant: &str, after: i64, limit: u32) -> Result<Value, ApiError> {
    let events = host.db.store(tenant).events_after(after, limit).map_err(ApiError::storage)?;
    let next = events.last().map_or(after, |e| e.seq);
    Ok(json!({"events": events.iter().map(entry_json).collect::<Vec<_>>(), "next": next}))
}

/// The cursor after the tenant's last recorded event.
fn feed_end(host: &Host, tenant: &str) -> Result<i64, StorageError> {
    let events = host.db.store(tenant);
    let mut end = 0;
    loop {
        let page = events.events_after(end, 1000)?;
        match page.last() {
            Some(last) => end = last.seq,
            None => return Ok(end),
        }
    }
}

/// Checks a webhook URL: `http` or `https`, a host, no user or password,
/// no fragment, at most [`MAX_URL_BYTES`], no spaces or control characters.
pub fn check_url(url: &str) -> Result<(), ApiError> {
    let bad = |reason: &str| Err(ApiError::invalid("url", reason));
    if url.is_empty() || url.len() > MAX_URL_BYTES {
        return bad(&format!("must be 1 to {MAX_URL_BYTES} bytes"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("must not hold spaces or control characters");
    }
    let Ok(uri) = url.parse::<ureq::http::Uri>() else { return bad("is not a URL") };
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return bad("must start with http:// or https://"),
    }
    let Some(authority) = uri.authority() else { return bad("must name a host") };
    if authority.as_str().contains('@') {
        return bad("must not carry a user name or password: the signature authenticates the service");
    }
    if authority.host().is_empty() {
        return bad("must name a host");
    }
    if url.contains('#') {
        return bad("must not have a fragment");
    }
    Ok(())
}

/// Where a URL points, for logs (a query may carry the receiver's own token).
fn origin(url: &str) -> String {
    match url.parse::<ureq::http::Uri>() {
        Ok(uri) => {
            format!("{}://{}", uri.scheme_str().unwrap_or("?"), uri.authority().map(|a| a.as_str()).unwrap_or("?"))
        }
        Err(_) => "?".into(),
    }
}

/// `PUT /api/tenants/{t}/webhook`: sets the URL; a new secret on the first
/// set or with `rotate_secret`, shown in this answer only. The delivery
/// cursor starts at `after` when given, else (for a new webhook) at the
/// feed's end: only events recorded from now on are sent.
pub fn put(
    host: &Host,
    tenant: &str,
    url: String,
    rotate_secret: bool,
    after: Option<i64>,
) -> Result<(u16, Value), ApiError> {
    check_url(&url)?;
    let store = store(host);
    let old = read_hook(&*store, tenant).map_err(ApiError::storage)?;
    let new_secret = match (&old, rotate_secret) {
        (Some(_), false) => None,
        _ => Some(format!("{SECRET_PREFIX}{}", random_hex(SECRET_HEX).map_err(ApiError::storage)?)),
    };
    let record = HookRecord {
        url,
        secret: new_secret.clone().or_else(|| old.as_ref().map(|o| o.secret.clone())).unwrap_or_default(),
        created: old.as_ref().map_or_else(|| host.clock.now_secs(), |o| o.created),
    };
    let cursor = match (after, &old) {
        (Some(after), _) => Some(after),
        (None, None) => Some(feed_end(host, tenant).map_err(ApiError::storage)?),
        (None, Some(_)) => None,
    };
    if let Some(cursor) = cursor {
        write_cursor(&*store, tenant, cursor).map_err(ApiError::storage)?;
    }
    let bytes = serde_json::to_vec(&record).map_err(ApiError::storage)?;
    store.set(&format!("{HOOK_PREFIX}{tenant}"), &bytes).map_err(ApiError::storage)?;
    tracing::info!(tenant, to = %origin(&record.url), new_secret = new_secret.is_some(), "webhook set");
    let mut value = hook_json(&*store, tenant, &record)?;
    let status = if old.is_none() { 201 } else { 200 };
    if let Some(secret) = new_secret {
        value["secret"] = json!(secret);
    }
    Ok((status, value))
}

fn hook_json(store: &dyn KvStore, tenant: &str, record: &HookRecord) -> Result<Value, ApiError> {
    let cursor = read_cursor(store, tenant).map_err(ApiError::storage)?;
    Ok(json!({"url": record.url, "created": utc(record.created), "delivered": cursor}))
}

/// `GET /api/tenants/{t}/webhook`: the URL, when it was made and the cursor
/// delivered up to; never the secret. 404 when none is set.
pub fn get(host: &Host, tenant: &str) -> Result<Value, ApiError> {
    let store = store(host);
    match read_hook(&*store, tenant).map_err(ApiError::storage)? {
        Some(record) => hook_json(&*store, tenant, &record),
        None => Err(ApiError::not_found("webhook", "this PMS account has no webhook")),
    }
}

/// `DELETE /api/tenants/{t}/webhook`: no more deliveries; false when none was set.
pub fn delete(host: &Host, tenant: &str) -> Result<bool, ApiError> {
    let store = store(host);
    let existed = read_hook(&*store, tenant).map_err(ApiError::storage)?.is_some();
    store.delete(&format!("{HOOK_PREFIX}{tenant}")).map_err(ApiError::storage)?;
    store.delete(&format!("{CURSOR_PREFIX}{tenant}")).map_err(ApiError::storage)?;
    if existed {
        tracing::info!(tenant, "webhook removed");
    }
    Ok(existed)
}

/// The signature header's value for `body` sent at `t` (unix seconds).
pub fn signature(secret: &str, t: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex(&mac.finalize().into_bytes()))
}

/// A tenant's failures in a row and when to try again.
struct Backoff {
    failures: u32,
    next: Instant,
}

fn retry_delay(failures: u32) -> Duration {
    FIRST_RETRY.saturating_mul(1u32 << failures.saturating_sub(1).min(16)).min(MAX_RETRY)
}

/// The delivery worker; stops when dropped.
pub struct Worker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the worker's threads share.
struct Shared {
    host: Arc<Host>,
    agent: ureq::Agent,
    in_flight: Mutex<HashSet<String>>,
    backoff: Mutex<HashMap<String, Backoff>>,
}

/// Starts the worker on its own thread.
pub fn spawn(host: Arc<Host>) -> std::io::Result<Worker> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(DELIVERY_TIMEOUT))
        .max_redirects(0)
        .user_agent(concat!("smartlock-host/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let shared = Arc::new(Shared { host, agent, in_flight: Mutex::default(), backoff: Mutex::default() });
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let thread = std::thread::Builder::new().name("serve-webhooks".into()).spawn(move || {
        while !stopped.load(Ordering::SeqCst) {
            if let Err(e) = dispatch(&shared) {
                tracing::warn!(error = %e, "webhooks: reading the webhooks failed");
            }
            std::thread::sleep(POLL);
        }
    })?;
    Ok(Worker { stop, thread: Some(thread) })
}

/// Starts a round for each tenant with events to send, not in flight nor
/// backing off, while fewer than [`PARALLEL_DELIVERIES`] run.
fn dispatch(shared: &Arc<Shared>) -> Result<(), StorageError> {
    let store = store(&shared.host);
    let mut after: Option<String> = None;
    loop {
        let page = store.list(HOOK_PREFIX, after.as_deref(), 500)?;
        let done = page.len() < 500;
        after = page.last().map(|(k, _)| k.clone());
        for (key, _) in page {
            let tenant = &key[HOOK_PREFIX.len()..];
            if shared.in_flight.lock().unwrap_or_else(PoisonError::into_inner).len() >= PARALLEL_DELIVERIES {
                return Ok(());
            }
            let waiting = shared
                .backoff
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(tenant)
                .is_some_and(|b| b.next > Instant::now());
            if waiting || shared.in_flight.lock().unwrap_or_else(PoisonError::into_inner).contains(tenant) {
                continue;
            }
            let cursor = read_cursor(&*store, tenant)?;
            if shared.host.db.store(tenant).events_after(cursor, 1)?.is_empty() {
                continue;
            }
            shared.in_flight.lock().unwrap_or_else(PoisonError::into_inner).insert(tenant.to_string());
            let (shared, tenant) = (shared.clone(), tenant.to_string());
            let spawned = std::thread::Builder::new().name("serve-webhook".into()).spawn({
                let (shared, tenant) = (shared.clone(), tenant.clone());
                move || {
                    let outcome = round(&shared, &tenant);
                    finish(&shared, &tenant, outcome);
                }
            });
            if let Err(e) = spawned {
                finish(&shared, &tenant, Err(format!("no thread for the delivery: {e}")));
            }
        }
        if done {
            return Ok(());
        }
    }
}

/// Records a round's outcome: backoff after a failure, none after success.
fn finish(shared: &Shared, tenant: &str, outcome: Result<(), String>) {
    let mut backoff = shared.backoff.lock().unwrap_or_else(PoisonError::into_inner);
    match outcome {
        Ok(()) => {
            backoff.remove(tenant);
        }
        Err(reason) => {
            let entry = backoff.entry(tenant.to_string()).or_insert(Backoff { failures: 0, next: Instant::now() });
            entry.failures = entry.failures.saturating_add(1);
            let delay = retry_delay(entry.failures);
            entry.next = Instant::now() + delay;
            tracing::warn!(
                tenant,
                failures = entry.failures,
                retry_in_s = delay.as_secs_f64(),
                reason = %reason,
                "webhook delivery failed; will retry"
            );
        }
    }
    drop(backoff);
    shared.in_flight.lock().unwrap_or_else(PoisonError::into_inner).remove(tenant);
}

/// One round of a tenant: in its delivery turn, sends the events after the
/// cursor, moving the cursor after each answered 2xx.
fn round(shared: &Shared, tenant: &str) -> Result<(), String> {
    let host = &shared.host;
    let fence;
    let (_turn, store) = match host.db.postgres() {
        Some(db) => {
            fence = Fence::new();
            let turn = db.begin_turn(&format!("{tenant}/webhook"), &fence, host.holder()).map_err(|e| e.to_string())?;
            (Some(turn), host.db.tenant_store(NAMESPACE, Some(&fence)))
        }
        None => (None, store(host)),
    };
    // Read again in the turn: another process may have sent them, the
    // webhook may be gone or changed.
    let Some(hook) = read_hook(&*store, tenant).map_err(|e| e.to_string())? else { return Ok(()) };
    let cursor = read_cursor(&*store, tenant).map_err(|e| e.to_string())?;
    let events = host.db.store(tenant).events_after(cursor, ROUND).map_err(|e| e.to_string())?;
    for event in &events {
        let mut body = entry_json(event);
        body["tenant"] = json!(tenant);
        let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        let t = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let sent = shared
            .agent
            .post(&hook.url)
            .header("Content-Type", "application/json")
            .header(SIGNATURE_HEADER, &signature(&hook.secret, t, &body))
            .header(EVENT_ID_HEADER, &event.id)
            .send(&body[..]);
        match sent {
            Ok(answer) if answer.status().is_success() => {
                write_cursor(&*store, tenant, event.seq).map_err(|e| e.to_string())?;
                tracing::debug!(tenant, event = %event.id, cursor = event.seq, "webhook delivered");
            }
            Ok(answer) => {
                return Err(format!("{} answered {} to event {}", origin(&hook.url), answer.status(), event.id))
            }
            Err(e) => return Err(format!("{} not reached for event {}: {e}", origin(&hook.url), event.id)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_plain_http() {
        for good in ["http://127.0.0.1:8080/hook", "https://pms.example/smartlock?x=1"] {
            assert!(check_url(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "ftp://pms.example/x",
            "file:///etc/passwd",
            "https://user:pw@pms.example/x",
            "https://user@pms.example/x",
            "pms.example/x",
            "https://pms.example/x y",
            "https://pms.example/x#frag",
        ] {
            let e = check_url(bad).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("url"), "{bad}");
        }
    }

    #[test]
    fn retries_double_up_to_the_cap() {
        assert_eq!(retry_delay(1), FIRST_RETRY);
        assert_eq!(retry_delay(2), FIRST_RETRY * 2);
        assert_eq!(retry_delay(3), FIRST_RETRY * 4);
        assert_eq!(retry_delay(40), MAX_RETRY);
    }

    #[test]
    fn signature_is_hmac_sha256_of_t_dot_body() {
        // HMAC by its definition (RFC 2104), with SHA-256 alone.
        use sha2::Digest as _;
        let (secret, t, body) = ("whsec_0123", 1_700_000_000u64, br#"{"id":"e1"}"#);
        let mut key = [0u8; 64];
        key[..secret.len()].copy_from_slice(secret.as_bytes());
        let pad = |byte: u8| key.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
        let message = [format!("{t}.").as_bytes(), body].concat();
        let inner = Sha256::digest([pad(0x36), message].concat());
        let outer = Sha256::digest([pad(0x5c), inner.to_vec()].concat());
        assert_eq!(signature(secret, t, body), format!("t={t},v1={}", hex(&outer)));
    }
}
