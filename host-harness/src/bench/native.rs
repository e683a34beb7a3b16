//! The plugin's code linked natively, served by the same host services as
//! the component: the native side of `native_ratio`.
//!
//! A host that linked the plugin's crate instead of loading the component
//! would still give it the tenant's storage, outbox and event log, its
//! clock, its HTTP transport and its logging. [`Services`] gives it exactly
//! the ones a [`Tenant`] gives the component, called straight through the
//! plugin's host traits. What the two sides of the comparison differ in is
//! then only what the sandbox adds: wasmtime's code, the crossing into the
//! host and back (lifting and lowering every argument and result), the
//! per-call limits and time accounting, and the allow-list every URL is
//! checked against. The limits and the allow-list are left out here
//! because a native plugin runs without a sandbox to enforce them.

use std::sync::Arc;
use std::time::Duration;

use smartlock_plugin::host as guest;
use smartlock_plugin::status::CodeEvent;

use crate::imports::{HttpMethod, HttpRequest, SimClock, StorageError, Tenant, Write};
use crate::WakeUps;

/// The timeout each request is given; the in-process stub answers at once.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A tenant's host services as the plugin's host traits.
pub(super) struct Services {
    tenant: Tenant,
    /// The tenant's clock, which the workload moves.
    clock: Arc<SimClock>,
    wake_ups: WakeUps,
}

impl Services {
    /// `tenant` with `clock` as its clock.
    pub(super) fn new(tenant: Tenant, clock: Arc<SimClock>) -> Self {
        Services { tenant: tenant.with_clock(clock.clone()), clock, wake_ups: WakeUps::new() }
    }
}

impl super::NativeHost for Services {
    fn set_now(&self, now: i64) {
        self.clock.set(now);
    }
}

fn storage_error(e: StorageError) -> guest::StorageError {
    match e {
        StorageError::Unavailable(m) => guest::StorageError::Unavailable(m),
        StorageError::TooLarge(m) => guest::StorageError::TooLarge(m),
    }
}

impl guest::Storage for Services {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, guest::StorageError> {
        self.tenant.storage.get(key).map_err(storage_error)
    }

    fn apply(&self, writes: Vec<guest::Write>) -> Result<(), guest::StorageError> {
        let writes = writes
            .into_iter()
            .map(|w| match w {
                guest::Write::Set(key, value) => Write::Set { key, value },
                guest::Write::Delete(key) => Write::Delete { key },
            })
            .collect();
        self.tenant.storage.apply_owned(writes).map_err(storage_error)
    }

    fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(String, Vec<u8>)>, guest::StorageError> {
        self.tenant.storage.list(prefix, start_after, limit).map_err(storage_error)
    }
}

impl guest::Http for Services {
    fn send(&self, request: &guest::HttpRequest) -> Result<guest::HttpResponse, guest::HttpError> {
        let method = match request.method {
            guest::Method::Get => HttpMethod::Get,
            guest::Method::Post => HttpMethod::Post,
            guest::Method::Put => HttpMethod::Put,
            guest::Method::Delete => HttpMethod::Delete,
        };
        let routed = HttpRequest {
            method,
            url: request.url.clone(),
            headers: request.headers.clone(),
            body: request.body.clone(),
            timeout: REQUEST_TIMEOUT,
        };
        match self.tenant.http.send(&routed) {
            Ok(r) => Ok(guest::HttpResponse { status: r.status, headers: r.headers, body: r.body }),
            Err(e) => Err(guest::HttpError::Transport(e.to_string())),
        }
    }
}

impl guest::Mailer for Services {
    fn send_to_owner(&self, dedup_key: &str, subject: &str, body: &str) -> Result<(), String> {
        let at = self.tenant.clock.now();
        self.tenant.storage.record_email(dedup_key, at, subject, body).map(drop).map_err(|e| e.to_string())
    }
}

impl guest::Notifier for Services {
    fn report(&self, event: &CodeEvent) -> Result<(), String> {
        let json = serde_json::to_string(event).map_err(|e| e.to_string())?;
        self.tenant.storage.record_event(&event.id, event.at, &json).map(drop).map_err(|e| e.to_string())
    }
}

impl guest::Clock for Services {
    fn now(&self) -> i64 {
        self.tenant.clock.now()
    }
}

impl guest::Log for Services {
    fn log(&self, level: guest::Level, message: &str) {
        let tenant = self.tenant.id.as_str();
        match level {
            guest::Level::Trace => tracing::trace!(target: "plugin", tenant, "{message}"),
            guest::Level::Debug => tracing::debug!(target: "plugin", tenant, "{message}"),
            guest::Level::Info => tracing::info!(target: "plugin", tenant, "{message}"),
            guest::Level::Warn => tracing::warn!(target: "plugin", tenant, "{message}"),
            guest::Level::Error => tracing::error!(target: "plugin", tenant, "{message}"),
        }
    }
}

impl guest::Scheduler for Services {
    fn wake_at(&self, at: Option<i64>) {
        self.wake_ups.set(&self.tenant.id, at);
    }
}
