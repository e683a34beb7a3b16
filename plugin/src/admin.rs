//! The dashboard panel: connect (R1, R2), locks (R3), assignments (R4, R5,
//! R17), disconnect (R18) and code status.

use crate::brands::Op;
use crate::brands::{self, BrandId, CachedToken, Connection, FieldProblem, Fields, LockInfo, VendorError};
use crate::error::{PluginError, Result};
use crate::events::replan_property;
use crate::host::{Host, Level, Write};
use crate::lifecycle::BookingRecord;
pub use crate::lifecycle::CodeState;
use crate::model::{self, Assignment, PropertyExtras, SharedDoor, DEFAULT_DAYS_BEFORE, DEFAULT_MARGIN_MINUTES};
use crate::schedule::{self, Instant};
use crate::store::{self, Store, EXTRAS_PREFIX};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub provider: BrandId,
    pub name: String,
}

/// A vendor failure while connecting or listing locks: a sentence for the
/// manager in the error, the technical detail in the log.
fn vendor_to_plugin<H: Host + ?Sized>(host: &H, provider: BrandId, e: VendorError) -> PluginError {
    host.log(Level::Warn, &format!("{}: {e}", provider.name()));
    match e {
        VendorError::Unauthorized { .. } => PluginError::CredentialsRejected(e.for_manager(provider.capabilities())),
        _ => PluginError::VendorUnavailable(format!(
            "{} could not be reached just now: try again in a few minutes",
            provider.name()
        )),
    }
}

/// Every refused field at once: the first names the error, the others
/// follow in its reason.
fn field_problems(problems: Vec<FieldProblem>) -> PluginError {
    let mut it = problems.into_iter();
    let Some(first) = it.next() else { return PluginError::invalid("credentials", "were refused") };
    let mut reason = first.reason;
    for p in it {
        reason.push_str(&format!("; {} {}", p.field, p.reason));
    }
    PluginError::invalid(&first.field, reason)
}

/// R1: a token must be issued (where the vendor issues one) and the lock
/// list must load before anything is stored. R2: secrets go to storage and
/// the vendor's own requests only.
pub fn connect<H: Host + ?Sized>(host: &H, provider: BrandId, fields: Fields) -> Result<Account> {
    let credentials = provider.brand().credentials(fields).map_err(field_problems)?;
    let store = Store::new(host);
    let probe = Connection { credentials, account_name: String::new() };
    // The client may cache a token while it checks; the previous one is put
    // back if the check fails, so a refused connect changes nothing.
    let token_key = store::token_key(provider);
    let previous_token: Option<CachedToken> = store.get(&token_key)?;
    let checked = {
        let mut client = brands::client(host, &probe);
        client.verify().and_then(|name| client.locks().map(|_| name))
    };
    let name = match checked {
        Ok(name) => name,
        Err(e) => {
            match previous_token {
                Some(t) => store.put(&token_key, &t)?,
                None => store.delete(&token_key)?,
            }
            return Err(vendor_to_plugin(host, provider, e));
        }
    };
    let account_name = name.unwrap_or_else(|| (provider.brand().login)(&probe.credentials.fields));
    let connection = Connection { account_name: account_name.clone(), ..probe };
    store.put(&store::connection_key(provider), &connection)?;
    host.log(Level::Info, &format!("{} account \"{account_name}\" connected", provider.name()));
    // Bookings of properties with this vendor's locks may now be planned.
    for a in assignments(host)? {
        if a.provider == provider {
            replan_property(host, &a.property_id, host.now())?;
        }
    }
    Ok(Account { provider, name: account_name })
}

pub fn accounts<H: Host + ?Sized>(host: &H) -> Result<Vec<Account>> {
    let mut out: Vec<Account> = Store::new(host)
        .connections()?
        .into_iter()
        .map(|c| Account { provider: c.brand(), name: c.account_name })
        .collect();
    out.sort_by_key(|a| a.provider.rank());
    Ok(out)
}

/// R18: no vendor call; that vendor's assignments go, its credentials go,
/// its codes on locks stay until their own end date. Other vendors are
/// untouched.
pub fn disconnect<H: Host + ?Sized>(host: &H, provider: BrandId) -> Result<()> {
    let store = Store::new(host);
    if store.connection(provider)?.is_none() {
        return Err(PluginError::NotConnected(provider));
    }
    // Credentials first: from this write on, no tick can reach the vendor.
    store.apply(vec![Write::Delete(store::connection_key(provider)), Write::Delete(store::token_key(provider))])?;
    for a in assignments(host)? {
        if a.provider == provider {
            store.delete(&store::assignment_key(&a.property_id))?;
        }
    }
    // Its shared doors go like its assignments (R26).
    for key in store.keys_with_prefix(EXTRAS_PREFIX)? {
        let Some(mut extras) = store.get::<PropertyExtras>(&key)? else { continue };
        let before = extras.doors.len();
        extras.doors.retain(|d| d.provider != provider);
        if extras.doors.len() != before {
            store.put(&key, &extras)?;
        }
    }
    for key in store.keys_with_prefix("bk/")? {
        let Some(mut rec) = store.get::<BookingRecord>(&key)? else { continue };
        let of_vendor = |p: BrandId| p == provider;
        let code_there = rec.on_lock.as_ref().is_some_and(|c| of_vendor(c.placement.provider));
        let job_there = rec.job.as_ref().is_some_and(|j| of_vendor(j.code.placement.provider));
        let planned_there = rec.target.as_ref().is_some_and(|t| of_vendor(t.placement.provider));
        if !(code_there || job_there || planned_there) {
            continue;
        }
        let leaves_code = code_there || rec.job.as_ref().is_some_and(|j| j.kind != Op::Delete && job_there);
        rec.target = None;
        rec.job = None;
        rec.next_due = None;
        rec.left_to_expire = leaves_code;
        store.save_booking(&mut rec, host.now(), Vec::new())?;
    }
    host.log(Level::Info, &format!("{} disconnected; codes on locks are left to expire", provider.name()));
    Ok(())
}

fn connection<H: Host + ?Sized>(host: &H, provider: BrandId) -> Result<Connection> {
    Store::new(host).connection(provider)?.ok_or(PluginError::NotConnected(provider))
}

pub fn list_locks<H: Host + ?Sized>(host: &H, provider: BrandId) -> Result<Vec<LockInfo>> {
    let conn = connection(host, provider)?;
    let mut client = brands::client(host, &conn);
    client.locks().map_err(|e| vendor_to_plugin(host, provider, e))
}

/// R4, R5, R14, R17: validates everything, then saves the assignment and
/// re-plans the property's bookings.
pub fn assign<H: Host + ?Sized>(
    host: &H,
    property_id: &str,
    provider: BrandId,
    lock_id: &str,
    days_before: Option<i32>,
    margin_minutes: Option<i32>,
) -> Result<Assignment> {
    assign_with(host, property_id, provider, lock_id, Settings { days_before, margin_minutes, backup_codes: None })
}

/// The settings of an assignment as the panel gives them (`None` keeps the
/// current value, or the default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    pub days_before: Option<i32>,
    pub margin_minutes: Option<i32>,
    /// R25: spare codes kept on the lock, 0..=5.
    pub backup_codes: Option<i32>,
}

/// [`assign`] with every setting, the backup pool's size (R25) included.
pub fn assign_with<H: Host + ?Sized>(
    host: &H,
    property_id: &str,
    provider: BrandId,
    lock_id: &str,
    settings: Settings,
) -> Result<Assignment> {
    let Settings { days_before, margin_minutes, backup_codes } = settings;
    model::check_id("property-id", property_id)?;
    model::check_id("lock-id", lock_id)?;
    let store = Store::new(host);
    let current = store.assignment(property_id)?;
    if let Some(a) = &current {
        if a.provider != provider {
            return Err(PluginError::OtherProviderAssigned(format!(
                "the property already has a {} lock; remove it before assigning a {} lock",
                a.provider.name(),
                provider.name()
            )));
        }
    }
    let (days_current, margin_current) =
        current.as_ref().map_or((DEFAULT_DAYS_BEFORE, DEFAULT_MARGIN_MINUTES), |a| (a.days_before, a.margin_minutes));
    // Every refused setting is named at once (R5).
    let days = model::settle_setting("days-before", days_before, schedule::DAYS_BEFORE_RANGE, days_current);
    let margin =
        model::settle_setting("margin-minutes", margin_minutes, schedule::MARGIN_MINUTES_RANGE, margin_current);
    let (days_before, margin_minutes) = match (days, margin) {
        (Ok(d), Ok(m)) => (d, m),
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => return Err(e),
        (
            Err(PluginError::InvalidInput { field, reason }),
            Err(PluginError::InvalidInput { field: f2, reason: r2 }),
        ) => {
            return Err(PluginError::InvalidInput {
                field,
                reason: format!("{reason}; {} {r2}", f2.replace('-', "_")),
            });
        }
        (Err(e), Err(_)) => return Err(e),
    };
    let pool_current = current.as_ref().map_or(0, |a| a.backup_codes);
    let backup_codes = model::settle_setting("backup-codes", backup_codes, model::BACKUP_CODES_RANGE, pool_current)?;
    if store.property(property_id)?.is_none() {
        return Err(PluginError::not_found("property-id", property_id));
    }
    let conn = connection(host, provider)?;

    // The lock's remote path is only known from the vendor's lock list; a
    // settings-only change on the same lock needs no vendor call.
    let (lock_name, channel, remote, pin_rule) = match &current {
        Some(a) if a.lock_id == lock_id => (a.lock_name.clone(), a.channel.clone(), a.remote(), a.pin_rule.clone()),
        _ => {
            let (lock, channel, remote) = remote_lock(host, &conn, provider, lock_id)?;
            (lock.name, channel, remote, lock.pin_rule)
        }
    };
    let assignment = Assignment {
        property_id: property_id.to_string(),
        provider,
        lock_id: lock_id.to_string(),
        lock_name,
        channel,
        remote: Some(remote),
        days_before,
        margin_minutes,
        pin_rule,
        backup_codes,
    };
    let extras = store.extras(property_id)?;
    if extras.doors.iter().any(|d| d.is(provider, lock_id)) {
        return Err(PluginError::invalid("lock-id", "is one of the property's shared doors; remove it there first"));
    }
    // Plans are computed for every booking before anything is written, so
    // an impossible plan refuses the whole change.
    store.put(&store::assignment_key(property_id), &assignment)?;
    if let Err(e) = replan_property(host, property_id, host.now()) {
        match &current {
            Some(a) => store.put(&store::assignment_key(property_id), a)?,
            None => store.delete(&store::assignment_key(property_id))?,
        }
        return Err(e);
    }
    store.forget_pool_0_3(property_id, &extras)?;
    crate::pool::sync(host, property_id, host.now())?;
    host.log(Level::Info, &format!("property {property_id}: lock {lock_id} assigned"));
    Ok(assignment)
}

/// R17: codes whose window has not started are deleted; guests mid-stay keep theirs.
pub fn unassign<H: Host + ?Sized>(host: &H, property_id: &str) -> Result<()> {
    model::check_id("property-id", property_id)?;
    let store = Store::new(host);
    if store.assignment(property_id)?.is_none() {
        return Err(PluginError::not_found("property-id", property_id));
    }
    // The pool goes with the lock (R25).
    store.delete(&store::assignment_key(property_id))?;
    replan_property(host, property_id, host.now())?;
    store.forget_pool_0_3(property_id, &store.extras(property_id)?)?;
    crate::pool::sync(host, property_id, host.now())?;
    host.log(Level::Info, &format!("property {property_id}: lock removed"));
    Ok(())
}

pub fn assignment<H: Host + ?Sized>(host: &H, property_id: &str) -> Result<Option<Assignment>> {
    model::check_id("property-id", property_id)?;
    Ok(Store::new(host).assignment(property_id)?)
}

/// The size of the property's backup pool (R25; 0 when none).
pub fn backup_codes<H: Host + ?Sized>(host: &H, property_id: &str) -> Result<u32> {
    model::check_id("property-id", property_id)?;
    Ok(Store::new(host).assignment(property_id)?.map_or(0, |a| a.backup_codes))
}

/// R26: adds a shared door to the property (at most 4), checked like an
/// assignment's lock; the property's bookings get codes on it on their own
/// schedule. A door the property has already is returned unchanged.
pub fn share_door<H: Host + ?Sized>(
    host: &H,
    property_id: &str,
    provider: BrandId,
    lock_id: &str,
) -> Result<SharedDoor> {
    model::check_id("property-id", property_id)?;
    model::check_id("lock-id", lock_id)?;
    let store = Store::new(host);
    if store.property(property_id)?.is_none() {
        return Err(PluginError::not_found("property-id", property_id));
    }
    let mut extras = store.extras(property_id)?;
    if let Some(door) = extras.doors.iter().find(|d| d.is(provider, lock_id)) {
        return Ok(door.clone());
    }
    if store.assignment(property_id)?.is_some_and(|a| a.provider == provider && a.lock_id == lock_id) {
        return Err(PluginError::invalid("lock-id", "is the property's own lock, not a shared door"));
    }
    if extras.doors.len() >= model::MAX_SHARED_DOORS {
        return Err(PluginError::invalid(
            "lock-id",
            format!("a property has at most {} shared doors", model::MAX_SHARED_DOORS),
        ));
    }
    let conn = connection(host, provider)?;
    let (lock, channel, remote) = remote_lock(host, &conn, provider, lock_id)?;
    let door = SharedDoor {
        property_id: property_id.to_string(),
        provider,
        lock_id: lock_id.to_string(),
        lock_name: lock.name,
        channel,
        remote,
        pin_rule: lock.pin_rule,
    };
    let before = extras.clone();
    extras.doors.push(door.clone());
    store.put_extras(property_id, &extras)?;
    if let Err(e) = replan_property(host, property_id, host.now()) {
        store.put_extras(property_id, &before)?;
        return Err(e);
    }
    host.log(Level::Info, &format!("property {property_id}: shared door {lock_id} added"));
    Ok(door)
}

/// R26, R17: removes a shared door from the property; codes on it whose
/// window has not started are deleted, a guest mid-stay keeps theirs.
pub fn unshare_door<H: Host + ?Sized>(host: &H, property_id: &str, provider: BrandId, lock_id: &str) -> Result<()> {
    model::check_id("property-id", property_id)?;
    model::check_id("lock-id", lock_id)?;
    let store = Store::new(host);
    let mut extras = store.extras(property_id)?;
    if !extras.doors.iter().any(|d| d.is(provider, lock_id)) {
        if store.property(property_id)?.is_none() {
            return Err(PluginError::not_found("property-id", property_id));
        }
        return Err(PluginError::not_found("lock-id", lock_id));
    }
    extras.doors.retain(|d| !d.is(provider, lock_id));
    store.put_extras(property_id, &extras)?;
    replan_property(host, property_id, host.now())?;
    host.log(Level::Info, &format!("property {property_id}: shared door {lock_id} removed"));
    Ok(())
}

/// The property's shared doors in the order they were added (R26).
pub fn shared_doors<H: Host + ?Sized>(host: &H, property_id: &str) -> Result<Vec<SharedDoor>> {
    model::check_id("property-id", property_id)?;
    Ok(Store::new(host).extras(property_id)?.doors)
}

/// The lock as its brand lists it, with the channel and remote path codes
/// reach it by (R3): not-found or lock-not-remote otherwise.
fn remote_lock<H: Host + ?Sized>(
    host: &H,
    conn: &Connection,
    provider: BrandId,
    lock_id: &str,
) -> Result<(LockInfo, String, brands::Remote)> {
    let locks = brands::client(host, conn).locks().map_err(|e| vendor_to_plugin(host, provider, e))?;
    let lock = locks.into_iter().find(|l| l.id == lock_id).ok_or_else(|| PluginError::not_found("lock-id", lock_id))?;
    match (lock.channel(), lock.remote.clone()) {
        (Some(channel), Some(remote)) => Ok((lock, channel, remote)),
        _ => Err(lock_not_remote(&lock, provider)),
    }
}

/// R3: the sentence says what the lock needs and where to fix it.
pub fn lock_not_remote(lock: &LockInfo, provider: BrandId) -> PluginError {
    let caps = provider.capabilities();
    PluginError::LockNotRemote(format!(
        "the lock \"{}\" needs {}: set it up in {}, then assign it",
        lock.name,
        lock.needs.as_deref().unwrap_or(caps.needs),
        caps.app
    ))
}

fn assignments<H: Host + ?Sized>(host: &H) -> Result<Vec<Assignment>> {
    let store = Store::new(host);
    let mut out = Vec::new();
    for key in store.keys_with_prefix("asg/")? {
        if let Some(a) = store.get::<Assignment>(&key)? {
            out.push(a);
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub start: Instant,
    pub end: Instant,
    pub start_local: String,
    pub end_local: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeStatus {
    pub booking_id: String,
    pub state: CodeState,
    pub pin: Option<String>,
    pub brand: Option<BrandId>,
    pub lock_id: Option<String>,
    pub window: Option<Window>,
    pub create_at: Option<Instant>,
    pub last_error: Option<String>,
    pub next_attempt: Option<Instant>,
    pub alert_sent: bool,
    pub fallback: Option<FallbackStatus>,
    /// The booking's codes on its shared doors (R26), in the order the
    /// doors were added.
    pub doors: Vec<DoorStatus>,
}

/// A booking's code on one shared door (R26).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoorStatus {
    pub name: String,
    pub code: CodeStatus,
}

/// The fallback code the guest got (R24), for the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackStatus {
    pub kind: String,
    pub pin: String,
    pub window: Window,
    pub rule: Option<String>,
    pub revocable: bool,
}

pub fn booking_status<H: Host + ?Sized>(host: &H, booking_id: &str) -> Result<CodeStatus> {
    model::check_id("booking-id", booking_id)?;
    let store = Store::new(host);
    let rec = store.booking(booking_id)?.ok_or_else(|| PluginError::not_found("booking-id", booking_id))?;
    let now = host.now();
    let mut status = status_of(&rec, now);
    for door in store.door_records(&rec)? {
        // A door the property no longer shares shows while it holds a code.
        if door.target.is_none() && door.on_lock.is_none() && door.job.is_none() {
            continue;
        }
        let name = door.role.door_name().unwrap_or_default().to_string();
        status.doors.push(DoorStatus { name, code: status_of(&door, now) });
    }
    Ok(status)
}

pub fn status_of(rec: &BookingRecord, now: Instant) -> CodeStatus {
    let state = rec.code_state(now);
    let code = rec.on_lock.as_ref().or(rec.job.as_ref().map(|j| &j.code));
    let placement = code.map(|c| &c.placement).or(rec.target.as_ref().map(|t| &t.placement));
    let tz = rec.zone();
    CodeStatus {
        booking_id: rec.facts.id.clone(),
        state,
        pin: rec.pin.clone(),
        brand: placement.map(|p| p.provider),
        lock_id: placement.map(|p| p.lock_id.clone()),
        window: placement.map(|p| Window {
            start: p.start,
            end: p.end,
            start_local: schedule::format_local(tz, p.start),
            end_local: schedule::format_local(tz, p.end),
        }),
        create_at: rec.target.as_ref().map(|t| t.plan.create_at),
        last_error: rec.last_error.clone(),
        next_attempt: if rec.left_to_expire { None } else { rec.next_due },
        alert_sent: rec.alert_sent,
        fallback: rec.fallback.as_ref().map(|fb| FallbackStatus {
            kind: fb.kind.clone(),
            pin: fb.pin.clone(),
            window: Window {
                start: fb.start,
                end: fb.end,
                start_local: schedule::format_local(tz, fb.start),
                end_local: schedule::format_local(tz, fb.end),
            },
            rule: crate::alert::guest_rule(fb),
            revocable: fb.revocable,
        }),
        doors: Vec::new(),
    }
}
