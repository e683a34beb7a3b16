//! The dashboard panel: connect (R1, R2), locks (R3), assignments (R4, R5,
//! R17), disconnect (R18) and code status.

use crate::error::{PluginError, Result};
use crate::events::replan_property;
use crate::host::{Host, Level, Write};
use crate::igloohome::{Client, Credentials, LockWithBridge, VendorError};
use crate::lifecycle::{BookingRecord, JobKind};
use crate::model::{self, Assignment, Provider, DEFAULT_DAYS_BEFORE, DEFAULT_MARGIN_MINUTES};
use crate::schedule::{self, Instant};
use crate::store::{self, Connection, Store, CONNECTION_KEY, TOKEN_KEY};

const MAX_CREDENTIAL_LEN: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub provider: Provider,
    pub name: String,
}

fn only_igloohome(provider: Provider) -> Result<()> {
    match provider {
        Provider::Igloohome => Ok(()),
        other => Err(PluginError::ProviderUnsupported(format!(
            "{} is not available in this version of the plugin",
            other.display_name()
        ))),
    }
}

fn vendor_to_plugin(e: VendorError) -> PluginError {
    match e {
        VendorError::Unauthorized(m) => PluginError::CredentialsRejected(m),
        other => PluginError::VendorUnavailable(other.to_string()),
    }
}

/// R1: a token must be issued and the device list must load before anything
/// is stored. R2: the secret goes to storage and the token request only.
pub fn connect<H: Host + ?Sized>(
    host: &H,
    provider: Provider,
    client_id: &str,
    client_secret: &str,
) -> Result<Account> {
    only_igloohome(provider)?;
    for (field, value) in [("client-id", client_id), ("client-secret", client_secret)] {
        if value.trim().is_empty() {
            return Err(PluginError::invalid(field, "must not be empty"));
        }
        if value.len() > MAX_CREDENTIAL_LEN || value.chars().any(char::is_control) {
            return Err(PluginError::invalid(
                field,
                format!("must be at most {MAX_CREDENTIAL_LEN} printable characters"),
            ));
        }
    }
    let mut client = Client::new(host, Credentials { client_id, client_secret });
    let issued = client.issue_token().map_err(vendor_to_plugin)?;
    let account_name = issued.account_name.unwrap_or_else(|| client_id.to_string());
    let store = Store::new(host);
    // The device list is fetched with the new token; it is stored only
    // together with the credentials, once the list has loaded.
    let previous_token: Option<store::CachedToken> = store.get(TOKEN_KEY)?;
    store.put(TOKEN_KEY, &issued.token)?;
    if let Err(e) = client.devices() {
        match previous_token {
            Some(t) => store.put(TOKEN_KEY, &t)?,
            None => store.delete(TOKEN_KEY)?,
        }
        return Err(vendor_to_plugin(e));
    }
    let connection = Connection {
        client_id: client_id.to_string(),
        client_secret: client_secret.to_string(),
        account_name: account_name.clone(),
    };
    store.put(CONNECTION_KEY, &connection)?;
    host.log(Level::Info, &format!("igloohome account \"{account_name}\" connected"));
    // Bookings of assigned properties may now be planned.
    for property in assigned_properties(host)? {
        replan_property(host, &property, host.now())?;
    }
    Ok(Account { provider, name: account_name })
}

pub fn accounts<H: Host + ?Sized>(host: &H) -> Result<Vec<Account>> {
    Ok(Store::new(host)
        .connection()?
        .map(|c| Account { provider: Provider::Igloohome, name: c.account_name })
        .into_iter()
        .collect())
}

/// R18: no vendor call; assignments go, credentials go, codes on locks stay
/// until their own end date.
pub fn disconnect<H: Host + ?Sized>(host: &H, provider: Provider) -> Result<()> {
    only_igloohome(provider)?;
    let store = Store::new(host);
    if store.connection()?.is_none() {
        return Err(PluginError::NotConnected);
    }
    // Credentials first: from this write on, no tick can reach the vendor.
    store.apply(vec![Write::Delete(CONNECTION_KEY.into()), Write::Delete(TOKEN_KEY.into())])?;
    for key in store.keys_with_prefix("asg/")? {
        store.delete(&key)?;
    }
    for key in store.keys_with_prefix("bk/")? {
        let Some(mut rec) = store.get::<BookingRecord>(&key)? else { continue };
        let leaves_code = rec.on_lock.is_some() || rec.job.as_ref().is_some_and(|j| j.kind == JobKind::Create);
        rec.target = None;
        rec.job = None;
        rec.next_due = None;
        rec.left_to_expire = leaves_code;
        store.save_booking(&mut rec, Vec::new())?;
    }
    host.log(Level::Info, "igloohome disconnected; codes on locks are left to expire");
    Ok(())
}

fn connected_client<'h, H: Host + ?Sized>(host: &'h H, conn: &'h Connection) -> Client<'h, H> {
    Client::new(host, Credentials { client_id: &conn.client_id, client_secret: &conn.client_secret })
}

pub fn list_locks<H: Host + ?Sized>(host: &H, provider: Provider) -> Result<Vec<LockWithBridge>> {
    only_igloohome(provider)?;
    let conn = Store::new(host).connection()?.ok_or(PluginError::NotConnected)?;
    connected_client(host, &conn).locks().map_err(vendor_to_plugin)
}

/// R4, R5, R14, R17: validates everything, then saves the assignment and
/// re-plans the property's bookings.
pub fn assign<H: Host + ?Sized>(
    host: &H,
    property_id: &str,
    provider: Provider,
    lock_id: &str,
    days_before: Option<i32>,
    margin_minutes: Option<i32>,
) -> Result<Assignment> {
    model::check_id("property-id", property_id)?;
    model::check_id("lock-id", lock_id)?;
    let store = Store::new(host);
    let current = store.assignment(property_id)?;
    if let Some(a) = &current {
        if a.provider != provider {
            return Err(PluginError::OtherProviderAssigned(format!(
                "the property already has a {} lock; remove it before assigning a {} lock",
                a.provider.display_name(),
                provider.display_name()
            )));
        }
    }
    only_igloohome(provider)?;
    let (days_current, margin_current) =
        current.as_ref().map_or((DEFAULT_DAYS_BEFORE, DEFAULT_MARGIN_MINUTES), |a| (a.days_before, a.margin_minutes));
    let days_before = model::settle_setting("days-before", days_before, schedule::DAYS_BEFORE_RANGE, days_current)?;
    let margin_minutes =
        model::settle_setting("margin-minutes", margin_minutes, schedule::MARGIN_MINUTES_RANGE, margin_current)?;
    if store.property(property_id)?.is_none() {
        return Err(PluginError::not_found("property-id", property_id));
    }
    let conn = store.connection()?.ok_or(PluginError::NotConnected)?;

    // The lock's bridge is only known from the device list; a settings-only
    // change on the same lock needs no vendor call.
    let (lock_name, bridge_id) = match &current {
        Some(a) if a.lock_id == lock_id => (a.lock_name.clone(), a.bridge_id.clone()),
        _ => {
            let locks = connected_client(host, &conn).locks().map_err(vendor_to_plugin)?;
            let lock = locks
                .into_iter()
                .find(|l| l.id == lock_id)
                .ok_or_else(|| PluginError::not_found("lock-id", lock_id))?;
            let bridge = lock.bridge_id.ok_or_else(|| {
                PluginError::LockNeedsBridge(format!(
                    "the lock \"{}\" needs a bridge: link it to an igloohome bridge in the igloohome app, then assign it",
                    lock.name
                ))
            })?;
            (lock.name, bridge)
        }
    };
    let assignment = Assignment {
        property_id: property_id.to_string(),
        provider,
        lock_id: lock_id.to_string(),
        lock_name,
        bridge_id,
        days_before,
        margin_minutes,
    };
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
    store.delete(&store::assignment_key(property_id))?;
    replan_property(host, property_id, host.now())?;
    host.log(Level::Info, &format!("property {property_id}: lock removed"));
    Ok(())
}

pub fn assignment<H: Host + ?Sized>(host: &H, property_id: &str) -> Result<Option<Assignment>> {
    model::check_id("property-id", property_id)?;
    Ok(Store::new(host).assignment(property_id)?)
}

fn assigned_properties<H: Host + ?Sized>(host: &H) -> Result<Vec<String>> {
    let store = Store::new(host);
    let mut out = Vec::new();
    for key in store.keys_with_prefix("asg/")? {
        if let Some(a) = store.get::<Assignment>(&key)? {
            out.push(a.property_id);
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeState {
    None,
    Scheduled,
    Creating,
    OnLock,
    Moving,
    Deleting,
    Retrying,
    Failed,
    Removed,
    LeftToExpire,
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
    pub lock_id: Option<String>,
    pub window: Option<Window>,
    pub create_at: Option<Instant>,
    pub last_error: Option<String>,
    pub next_attempt: Option<Instant>,
    pub alert_sent: bool,
}

pub fn booking_status<H: Host + ?Sized>(host: &H, booking_id: &str) -> Result<CodeStatus> {
    model::check_id("booking-id", booking_id)?;
    let rec = Store::new(host).booking(booking_id)?.ok_or_else(|| PluginError::not_found("booking-id", booking_id))?;
    Ok(status_of(&rec, host.now()))
}

pub fn status_of(rec: &BookingRecord, now: Instant) -> CodeStatus {
    let target_lock = rec.target.as_ref().map(|t| t.placement.lock_id.as_str());
    let state = if rec.left_to_expire {
        CodeState::LeftToExpire
    } else if let Some(job) = &rec.job {
        let same = Some(job.code.placement.lock_id.as_str()) == target_lock;
        let wanted_after = rec.wanted_placement(now).is_some();
        match job.kind {
            JobKind::Create if rec.issued_on.as_deref() == target_lock => CodeState::Moving,
            JobKind::Create => CodeState::Creating,
            JobKind::Delete if same && wanted_after => CodeState::Moving,
            JobKind::Delete => CodeState::Deleting,
        }
    } else if rec.on_lock.is_some() {
        CodeState::OnLock
    } else if let Some(t) = &rec.target {
        if now >= t.placement.end && rec.issued_on.is_some() {
            CodeState::Removed
        } else if rec.gave_up(now) {
            CodeState::Failed
        } else if rec.attempts_failed > 0 {
            CodeState::Retrying
        } else {
            CodeState::Scheduled
        }
    } else if rec.issued_on.is_some() {
        CodeState::Removed
    } else {
        CodeState::None
    };

    let code = rec.on_lock.as_ref().or(rec.job.as_ref().map(|j| &j.code));
    let (placement, tz) = match (code, &rec.target) {
        (Some(c), t) => (Some(&c.placement), t.as_ref().map(|t| t.timezone.as_str())),
        (None, Some(t)) => (Some(&t.placement), Some(t.timezone.as_str())),
        (None, None) => (None, None),
    };
    let tz = tz.and_then(|z| schedule::parse_timezone("timezone", z).ok()).unwrap_or(chrono_tz::UTC);
    CodeStatus {
        booking_id: rec.facts.id.clone(),
        state,
        pin: rec.pin.clone(),
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
    }
}
