//! wit-bindgen glue only: WIT calls -> the plain-Rust core, and the WIT
//! imports behind the [`crate::host`] traits. Built for
//! `wasm32-unknown-unknown`: the component imports its contract and
//! `wasi:random` and nothing else (R23), so randomness and panic messages
//! are wired here by hand.

wit_bindgen::generate!({
    world: "smartlock-plugin",
    path: "../wit",
    // The one WASI interface of the world (R23): its bindings are made here.
    with: { "wasi:random/random@0.2.0": generate },
});

use exports::pms::smartlock::{admin, events, messages};
use pms::smartlock::{clock, code_events, email, http, log, scheduler, storage, types};

use std::cell::Cell;

use crate::brands::{BrandId, Fields, Remote, TOKEN_PREFIX};
use crate::error::PluginError;
use crate::host::{self as core, Level};
use crate::model::{BookingFacts, PropertyFacts};
use crate::notify::OUTBOX_PREFIX;
use crate::store::DUE_PREFIX;
use crate::{admin as core_admin, events as core_events, render, tick, wake};

/// The host as seen through the WIT imports.
struct WitHost;

impl core::Http for WitHost {
    fn send(&self, r: &core::HttpRequest) -> Result<core::HttpResponse, core::HttpError> {
        let method = match r.method {
            core::Method::Get => http::Method::Get,
            core::Method::Post => http::Method::Post,
            core::Method::Put => http::Method::Put,
            core::Method::Delete => http::Method::Delete,
        };
        let req = http::Request { method, url: r.url.clone(), headers: r.headers.clone(), body: r.body.clone() };
        match http::send(&req) {
            Ok(resp) => Ok(core::HttpResponse { status: resp.status, headers: resp.headers, body: resp.body }),
            Err(http::HttpError::Forbidden(m)) => Err(core::HttpError::Forbidden(m)),
            Err(http::HttpError::Timeout) => Err(core::HttpError::Timeout),
            Err(http::HttpError::TooLarge(n)) => Err(core::HttpError::TooLarge(n)),
            Err(http::HttpError::Transport(m)) => Err(core::HttpError::Transport(m)),
        }
    }
}

fn storage_err(e: storage::StorageError) -> core::StorageError {
    match e {
        storage::StorageError::Unavailable(m) => core::StorageError::Unavailable(m),
        storage::StorageError::TooLarge(m) => core::StorageError::TooLarge(m),
    }
}

impl core::Storage for WitHost {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, core::StorageError> {
        storage::get(key).map_err(storage_err)
    }

    fn apply(&self, writes: Vec<core::Write>) -> Result<(), core::StorageError> {
        let writes: Vec<storage::Write> = writes
            .into_iter()
            .map(|w| match w {
                core::Write::Set(key, value) => storage::Write::Set(storage::Entry { key, value }),
                core::Write::Delete(key) => storage::Write::Delete(key),
            })
            .collect();
        CALL.with(|c| c.saw(&writes));
        storage::apply(&writes).map_err(storage_err)
    }

    fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(String, Vec<u8>)>, core::StorageError> {
        storage::list(prefix, start_after, limit)
            .map(|entries| entries.into_iter().map(|e| (e.key, e.value)).collect())
            .map_err(storage_err)
    }
}

impl core::Mailer for WitHost {
    fn send_to_owner(&self, dedup_key: &str, subject: &str, body: &str) -> Result<(), String> {
        email::send_to_owner(dedup_key, subject, body)
    }
}

impl core::Clock for WitHost {
    fn now(&self) -> i64 {
        clock::now()
    }
}

impl core::Log for WitHost {
    fn log(&self, level: Level, message: &str) {
        let level = match level {
            Level::Trace => log::Level::Trace,
            Level::Debug => log::Level::Debug,
            Level::Info => log::Level::Info,
            Level::Warn => log::Level::Warn,
            Level::Error => log::Level::Error,
        };
        log::log(level, message);
    }
}

impl core::Notifier for WitHost {
    fn report(&self, e: &crate::status::CodeEvent) -> Result<(), String> {
        use crate::status::EventKind as K;
        let kind = match e.kind {
            K::Scheduled => code_events::EventKind::Scheduled,
            K::Writing => code_events::EventKind::Writing,
            K::OnLock => code_events::EventKind::OnLock,
            K::Moved => code_events::EventKind::Moved,
            K::Retrying => code_events::EventKind::Retrying,
            K::Failed => code_events::EventKind::Failed,
            K::Fallback => code_events::EventKind::Fallback,
            K::AlertSent => code_events::EventKind::AlertSent,
            K::Deleted => code_events::EventKind::Deleted,
            K::LockUnreachable => code_events::EventKind::LockUnreachable,
            K::LockReachable => code_events::EventKind::LockReachable,
        };
        code_events::report(&code_events::CodeEvent {
            id: e.id.clone(),
            at: e.at,
            kind,
            booking_id: e.booking_id.clone(),
            property_id: e.property_id.clone(),
            brand: e.brand.clone(),
            lock_id: e.lock_id.clone(),
            door: e.door.clone(),
            at_risk: e.at_risk,
            detail: e.detail.clone(),
        })
    }
}

impl core::Scheduler for WitHost {
    fn wake_at(&self, at: Option<i64>) {
        scheduler::wake_at(at);
    }
}

/// What the current export call wrote that matters at its end: whether it
/// queued code events and whether it touched the due index. Every storage
/// write passes through [`WitHost`]'s `apply`, which records it here; the
/// component is single-threaded, so one call owns it.
#[derive(Default)]
struct CallWrites {
    queued_events: Cell<bool>,
    due_changed: Cell<bool>,
}

impl CallWrites {
    fn saw(&self, writes: &[storage::Write]) {
        for w in writes {
            let key = match w {
                storage::Write::Set(e) => e.key.as_str(),
                storage::Write::Delete(key) => key.as_str(),
            };
            if key.starts_with(OUTBOX_PREFIX) && matches!(w, storage::Write::Set(_)) {
                self.queued_events.set(true);
            } else if key.starts_with(DUE_PREFIX) {
                self.due_changed.set(true);
            } else if key.starts_with(TOKEN_PREFIX) {
                // Written by another path than the token cache's own save
                // (which remembers after its write): read it back.
                crate::brands::forget_tokens();
            }
        }
    }
}

thread_local! {
    static CALL: CallWrites = CallWrites::default();
}

/// The span of one export call: starts with nothing written and no token
/// known, and forgets the tokens again at its end.
struct CallScope {
    _tokens: crate::brands::TokenScope,
}

fn begin_call() -> CallScope {
    log_panics();
    CALL.with(|c| {
        c.queued_events.set(false);
        c.due_changed.set(false);
    });
    CallScope { _tokens: crate::brands::TokenScope::begin() }
}

/// Passes an export's result through after ending the call as every export
/// does ([`wake::end_call`]): the code events it queued handed over (R27)
/// and, when it changed the due index, the host told when the plugin next
/// needs a tick (R21).
fn then_wake<T>(result: Result<T, PluginError>) -> Result<T, types::Error> {
    let (queued_events, due_changed) = CALL.with(|c| (c.queued_events.get(), c.due_changed.get()));
    wake::end_call(&WitHost, queued_events, due_changed);
    result.map_err(to_wit_error)
}

fn to_wit_error(e: PluginError) -> types::Error {
    match e {
        PluginError::InvalidInput { field, reason } => types::Error::InvalidInput(types::FieldError { field, reason }),
        PluginError::NotFound { field, id } => types::Error::NotFound(types::FieldError {
            field,
            reason: format!("\"{}\" is not known", crate::model::clip(&id)),
        }),
        PluginError::NotConnected(b) => types::Error::NotConnected(b.id().to_string()),
        PluginError::CredentialsRejected(m) => types::Error::CredentialsRejected(m),
        PluginError::LockNotRemote(m) => types::Error::LockNotRemote(m),
        PluginError::OtherProviderAssigned(m) => types::Error::OtherBrandAssigned(m),
        PluginError::ProviderUnsupported(m) => types::Error::UnknownBrand(m),
        PluginError::VendorUnavailable(m) => types::Error::VendorUnavailable(m),
        PluginError::Storage(e) => types::Error::StorageFailed(e.to_string()),
    }
}

/// The registered brand of that id (unknown-brand otherwise).
fn brand_in(id: &str) -> Result<BrandId, types::Error> {
    BrandId::parse(id)
        .ok_or_else(|| types::Error::UnknownBrand(format!("no brand \"{}\" in this plugin", crate::text::clip(id))))
}

fn brand_info(b: BrandId) -> admin::BrandInfo {
    let brand = b.brand();
    admin::BrandInfo {
        id: brand.id.to_string(),
        name: brand.name.to_string(),
        credentials: brand
            .fields
            .iter()
            .map(|f| admin::CredentialField {
                name: f.name.to_string(),
                label: f.label.to_string(),
                help: f.help.to_string(),
                secret: f.secret,
                host_supplied: f.host_supplied,
            })
            .collect(),
        lock_needs: brand.capabilities.needs.to_string(),
        origins: brand.origins.iter().map(|o| o.to_string()).collect(),
    }
}

fn property_in(p: types::Property) -> PropertyFacts {
    PropertyFacts {
        id: p.id,
        name: p.name,
        timezone: p.timezone,
        check_in_time: p.check_in_time,
        check_out_time: p.check_out_time,
    }
}

fn booking_in(b: types::Booking) -> BookingFacts {
    BookingFacts {
        id: b.id,
        property_id: b.property_id,
        guest_name: b.guest_name,
        check_in: b.check_in,
        check_out: b.check_out,
        check_in_time: b.check_in_time,
        check_out_time: b.check_out_time,
        confirmed: matches!(b.status, types::BookingStatus::Confirmed),
    }
}

fn remote_out(r: Remote) -> admin::RemotePath {
    admin::RemotePath { kind: r.kind, via: r.via }
}

fn assignment_out(a: crate::model::Assignment) -> admin::Assignment {
    admin::Assignment {
        remote: remote_out(a.remote()),
        property_id: a.property_id,
        brand: a.provider.id().to_string(),
        lock_id: a.lock_id,
        lock_name: a.lock_name,
        days_before: a.days_before,
        margin_minutes: a.margin_minutes,
        backup_codes: a.backup_codes,
    }
}

fn shared_door_out(d: crate::model::SharedDoor) -> admin::SharedDoor {
    admin::SharedDoor {
        property_id: d.property_id,
        brand: d.provider.id().to_string(),
        lock_id: d.lock_id,
        lock_name: d.lock_name,
        remote: remote_out(d.remote),
    }
}

fn window_out(w: core_admin::Window) -> admin::Window {
    admin::Window { start: w.start, end: w.end, start_local: w.start_local, end_local: w.end_local }
}

fn state_out(state: core_admin::CodeState) -> admin::CodeState {
    use core_admin::CodeState as S;
    match state {
        S::None => admin::CodeState::None,
        S::Scheduled => admin::CodeState::Scheduled,
        S::Creating => admin::CodeState::Creating,
        S::OnLock => admin::CodeState::OnLock,
        S::Moving => admin::CodeState::Moving,
        S::Deleting => admin::CodeState::Deleting,
        S::Retrying => admin::CodeState::Retrying,
        S::Failed => admin::CodeState::Failed,
        S::Removed => admin::CodeState::Removed,
        S::LeftToExpire => admin::CodeState::LeftToExpire,
    }
}

fn fallback_out(f: core_admin::FallbackStatus) -> admin::FallbackCode {
    admin::FallbackCode { kind: f.kind, pin: f.pin, window: window_out(f.window), rule: f.rule, revocable: f.revocable }
}

fn door_out(d: core_admin::DoorStatus) -> admin::DoorCode {
    let s = d.code;
    admin::DoorCode {
        brand: s.brand.map(|b| b.id().to_string()).unwrap_or_default(),
        lock_id: s.lock_id.unwrap_or_default(),
        door_name: d.name,
        state: state_out(s.state),
        pin: s.pin,
        window: s.window.map(window_out),
        last_error: s.last_error,
        next_attempt: s.next_attempt,
        alert_sent: s.alert_sent,
        fallback: s.fallback.map(fallback_out),
    }
}

/// getrandom's custom backend (`--cfg getrandom_backend="custom"`, set for
/// this target in `.cargo/config.toml`): the PINs' entropy comes from the
/// host's `wasi:random/random` (R8).
///
/// # Safety
///
/// getrandom calls it with a buffer of `len` writable bytes at `dest`.
#[no_mangle]
unsafe extern "Rust" fn __getrandom_v03_custom(dest: *mut u8, len: usize) -> Result<(), getrandom::Error> {
    let bytes = wasi::random::random::get_random_bytes(len as u64);
    if bytes.len() != len {
        return Err(getrandom::Error::UNEXPECTED);
    }
    // SAFETY: `dest` holds `len` bytes (the caller's contract), `bytes` has
    // exactly `len`, and the two cannot overlap (`bytes` is a fresh vector).
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dest, len) };
    Ok(())
}

/// Without WASI stderr a panic would trap in silence: its message goes to
/// the host's log first (the trap still fails the call).
fn log_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| log::log(log::Level::Error, &format!("plugin panicked: {info}"))));
    });
}

struct Component;

impl events::Guest for Component {
    fn on_booking_changed(event: types::BookingEvent) -> Result<(), types::Error> {
        let _call = begin_call();
        then_wake(core_events::on_booking_changed(&WitHost, booking_in(event.booking), property_in(event.property)))
    }

    fn on_property_changed(property: types::Property) -> Result<(), types::Error> {
        let _call = begin_call();
        then_wake(core_events::on_property_changed(&WitHost, property_in(property)))
    }

    fn on_tick(now: types::Instant) -> Result<events::TickSummary, types::Error> {
        let _call = begin_call();
        let summary = tick::on_tick(&WitHost, now);
        let more_due = wake::end_tick(&WitHost, now, summary.as_ref().is_ok_and(|s| s.more_due));
        summary
            .map(|s| events::TickSummary { processed: s.processed, vendor_requests: s.vendor_requests, more_due })
            .map_err(to_wit_error)
    }
}

impl messages::Guest for Component {
    fn render_variable(name: String, booking_id: String) -> Option<String> {
        let _call = begin_call();
        render::render_variable(&WitHost, &name, &booking_id)
    }
}

impl admin::Guest for Component {
    fn brands() -> Vec<admin::BrandInfo> {
        let _call = begin_call();
        BrandId::all().map(brand_info).collect()
    }

    fn connect(brand: String, credentials: Vec<admin::Credential>) -> Result<admin::Account, types::Error> {
        let _call = begin_call();
        let brand = brand_in(&brand)?;
        let fields: Fields = credentials.into_iter().map(|c| (c.name, c.value)).collect();
        then_wake(core_admin::connect(&WitHost, brand, fields))
            .map(|a| admin::Account { brand: a.provider.id().to_string(), name: a.name })
    }

    fn disconnect(brand: String) -> Result<(), types::Error> {
        let _call = begin_call();
        then_wake(core_admin::disconnect(&WitHost, brand_in(&brand)?))
    }

    fn accounts() -> Result<Vec<admin::Account>, types::Error> {
        let _call = begin_call();
        core_admin::accounts(&WitHost)
            .map(|list| {
                list.into_iter().map(|a| admin::Account { brand: a.provider.id().to_string(), name: a.name }).collect()
            })
            .map_err(to_wit_error)
    }

    fn list_locks(brand: String) -> Result<Vec<admin::LockInfo>, types::Error> {
        let _call = begin_call();
        let id = brand_in(&brand)?;
        core_admin::list_locks(&WitHost, id)
            .map(|locks| {
                locks
                    .into_iter()
                    .map(|l| admin::LockInfo {
                        brand: brand.clone(),
                        needs: l
                            .remote
                            .is_none()
                            .then(|| l.needs.clone().unwrap_or_else(|| id.capabilities().needs.to_string())),
                        remote: l.remote.map(remote_out),
                        unreachable_since: crate::health::of(&WitHost, id, &l.id)
                            .ok()
                            .and_then(|h| h.unreachable_since),
                        id: l.id,
                        name: l.name,
                    })
                    .collect()
            })
            .map_err(to_wit_error)
    }

    fn assign(
        property_id: String,
        brand: String,
        lock_id: String,
        settings: admin::Settings,
    ) -> Result<admin::Assignment, types::Error> {
        let _call = begin_call();
        then_wake(core_admin::assign_with(
            &WitHost,
            &property_id,
            brand_in(&brand)?,
            &lock_id,
            core_admin::Settings {
                days_before: settings.days_before,
                margin_minutes: settings.margin_minutes,
                backup_codes: settings.backup_codes,
            },
        ))
        .map(assignment_out)
    }

    fn unassign(property_id: String) -> Result<(), types::Error> {
        let _call = begin_call();
        then_wake(core_admin::unassign(&WitHost, &property_id))
    }

    fn get_assignment(property_id: String) -> Result<Option<admin::Assignment>, types::Error> {
        let _call = begin_call();
        core_admin::assignment(&WitHost, &property_id).map(|a| a.map(assignment_out)).map_err(to_wit_error)
    }

    fn share_door(property_id: String, brand: String, lock_id: String) -> Result<admin::SharedDoor, types::Error> {
        let _call = begin_call();
        then_wake(core_admin::share_door(&WitHost, &property_id, brand_in(&brand)?, &lock_id)).map(shared_door_out)
    }

    fn unshare_door(property_id: String, brand: String, lock_id: String) -> Result<(), types::Error> {
        let _call = begin_call();
        then_wake(core_admin::unshare_door(&WitHost, &property_id, brand_in(&brand)?, &lock_id))
    }

    fn shared_doors(property_id: String) -> Result<Vec<admin::SharedDoor>, types::Error> {
        let _call = begin_call();
        core_admin::shared_doors(&WitHost, &property_id)
            .map(|doors| doors.into_iter().map(shared_door_out).collect())
            .map_err(to_wit_error)
    }

    fn booking_status(booking_id: String) -> Result<admin::CodeStatus, types::Error> {
        let _call = begin_call();
        core_admin::booking_status(&WitHost, &booking_id)
            .map(|s| admin::CodeStatus {
                booking_id: s.booking_id,
                state: state_out(s.state),
                pin: s.pin,
                brand: s.brand.map(|b| b.id().to_string()),
                lock_id: s.lock_id,
                window: s.window.map(window_out),
                create_at: s.create_at,
                last_error: s.last_error,
                next_attempt: s.next_attempt,
                alert_sent: s.alert_sent,
                fallback: s.fallback.map(fallback_out),
                doors: s.doors.into_iter().map(door_out).collect(),
            })
            .map_err(to_wit_error)
    }
}

export!(Component);
