//! The facts the plugin keeps about properties, bookings and assignments,
//! validated on the way in so that everything stored is well-formed.

use serde::{Deserialize, Serialize};

use crate::brands::{BrandId, Remote};
use crate::error::{PluginError, Result};
use crate::pin::PinRule;
use crate::schedule;
pub use crate::text::{clip, clip_to};

pub const MAX_ID_LEN: usize = 128;
pub const MAX_NAME_LEN: usize = 200;

// R5 bounds live in `schedule` (DAYS_BEFORE_RANGE, MARGIN_MINUTES_RANGE),
// which plans with them; the defaults live here.
pub const DEFAULT_DAYS_BEFORE: u32 = 5;
pub const DEFAULT_MARGIN_MINUTES: u32 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyFacts {
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub check_in_time: Option<String>,
    pub check_out_time: Option<String>,
}

impl PropertyFacts {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        check_id(&format!("{prefix}id"), &self.id)?;
        check_text(&format!("{prefix}name"), &self.name)?;
        schedule::parse_timezone("timezone", &self.timezone).map_err(|_| {
            PluginError::invalid(
                &format!("{prefix}timezone"),
                format!("is not a known IANA timezone: \"{}\"", clip(&self.timezone)),
            )
        })?;
        check_time(&format!("{prefix}check-in-time"), self.check_in_time.as_deref())?;
        check_time(&format!("{prefix}check-out-time"), self.check_out_time.as_deref())?;
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingFacts {
    pub id: String,
    pub property_id: String,
    pub guest_name: Option<String>,
    pub check_in: String,
    pub check_out: String,
    pub check_in_time: Option<String>,
    pub check_out_time: Option<String>,
    pub confirmed: bool,
}

impl BookingFacts {
    pub fn validate(&self) -> Result<()> {
        check_id("booking.id", &self.id)?;
        check_id("booking.property-id", &self.property_id)?;
        if let Some(name) = &self.guest_name {
            check_text("booking.guest-name", name)?;
        }
        let check_in = schedule::parse_date("booking.check-in", &self.check_in)?;
        let check_out = schedule::parse_date("booking.check-out", &self.check_out)?;
        if check_out <= check_in {
            return Err(PluginError::invalid("booking.check-out", "must be after check-in"));
        }
        check_time("booking.check-in-time", self.check_in_time.as_deref())?;
        check_time("booking.check-out-time", self.check_out_time.as_deref())?;
        Ok(())
    }

    pub fn guest(&self) -> &str {
        self.guest_name.as_deref().filter(|n| !n.trim().is_empty()).unwrap_or("Guest")
    }
}

/// A property's lock and the settings of its codes (R4, R5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub property_id: String,
    pub provider: BrandId,
    pub lock_id: String,
    pub lock_name: String,
    /// What serialises writes to the lock: the device linking it to the
    /// cloud, else the lock itself (0.1's name for it is read by
    /// [`crate::brands::legacy`]).
    pub channel: String,
    /// How codes reach the lock (absent before 0.2: the legacy brand's link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<Remote>,
    pub days_before: u32,
    pub margin_minutes: u32,
    /// The lock's own PIN rule where its brand reports one per lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_rule: Option<PinRule>,
    /// R25: spare codes kept on the lock, 0..=5. Always stored: a record
    /// without it was written by 0.3.0, which kept the size in the
    /// property's extras ([`PropertyExtras::backup_codes_0_3`]), and
    /// [`crate::store::Store::assignment`] reads it there.
    #[serde(default)]
    pub backup_codes: u32,
}

impl Assignment {
    /// How codes reach the lock (0.1 stored none: through its channel).
    pub fn remote(&self) -> Remote {
        self.remote.clone().unwrap_or_else(|| crate::brands::legacy_remote(&self.channel))
    }

    /// The PIN rule codes on this lock follow (R8).
    pub fn pin_rule(&self) -> PinRule {
        self.pin_rule.clone().unwrap_or_else(|| (self.provider.capabilities().pin_rule)())
    }
}

/// A lock several properties use besides their own (R26): every booking of
/// the property also gets a code on it, planned with the property's
/// assignment's days-before and margin (or the defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedDoor {
    pub property_id: String,
    pub provider: BrandId,
    pub lock_id: String,
    pub lock_name: String,
    pub channel: String,
    pub remote: Remote,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_rule: Option<PinRule>,
}

impl SharedDoor {
    /// The door as an assignment of the property with `settings`' days and
    /// margin (the defaults when the property has no lock of its own): its
    /// codes are planned exactly like the own lock's.
    pub fn as_assignment(&self, settings: Option<&Assignment>) -> Assignment {
        let (days_before, margin_minutes) =
            settings.map_or((DEFAULT_DAYS_BEFORE, DEFAULT_MARGIN_MINUTES), |a| (a.days_before, a.margin_minutes));
        Assignment {
            property_id: self.property_id.clone(),
            provider: self.provider,
            lock_id: self.lock_id.clone(),
            lock_name: self.lock_name.clone(),
            channel: self.channel.clone(),
            remote: Some(self.remote.clone()),
            days_before,
            margin_minutes,
            pin_rule: self.pin_rule.clone(),
            // The pool is the own lock's (R25).
            backup_codes: 0,
        }
    }

    pub fn is(&self, provider: BrandId, lock_id: &str) -> bool {
        self.provider == provider && self.lock_id == lock_id
    }
}

/// R26: shared doors per property.
pub const MAX_SHARED_DOORS: usize = 4;
/// R25: spare codes per property's lock.
pub const BACKUP_CODES_RANGE: std::ops::RangeInclusive<u32> = 0..=5;

/// What a property has besides its own lock, in one small record read once
/// per planning: its shared doors in the order they were added (R26).
/// Absent = none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyExtras {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub doors: Vec<SharedDoor>,
    /// The own lock's backup pool size (R25) where 0.3.0 kept it. It is the
    /// [`Assignment::backup_codes`] of an assignment stored by 0.3.0 (which
    /// lacks that field), kept here unchanged until that assignment is saved
    /// again; nothing else reads or sets it.
    #[serde(default, rename = "backup_codes", skip_serializing_if = "is_zero")]
    pub backup_codes_0_3: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl PropertyExtras {
    pub fn is_empty(&self) -> bool {
        self.doors.is_empty() && self.backup_codes_0_3 == 0
    }
}

/// R5: whole days 1..=14 and minutes 0..=240; `None` keeps `current`.
pub fn settle_setting(
    field: &str,
    value: Option<i32>,
    range: std::ops::RangeInclusive<u32>,
    current: u32,
) -> Result<u32> {
    match value {
        None => Ok(current),
        Some(v) => u32::try_from(v).ok().filter(|v| range.contains(v)).ok_or_else(|| {
            PluginError::invalid(field, format!("must be between {} and {}", range.start(), range.end()))
        }),
    }
}

pub fn check_id(field: &str, id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(PluginError::invalid(field, "must not be empty"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(PluginError::invalid(field, format!("must be at most {MAX_ID_LEN} bytes")));
    }
    if id.chars().any(|c| c.is_control()) {
        return Err(PluginError::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

fn check_text(field: &str, text: &str) -> Result<()> {
    if text.len() > MAX_NAME_LEN {
        return Err(PluginError::invalid(field, format!("must be at most {MAX_NAME_LEN} bytes")));
    }
    if text.chars().any(|c| c.is_control()) {
        return Err(PluginError::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

fn check_time(field: &str, time: Option<&str>) -> Result<()> {
    match time {
        None => Ok(()),
        Some(t) => schedule::parse_time("time", t)
            .map(|_| ())
            .map_err(|_| PluginError::invalid(field, format!("must be a time \"HH:MM\", not \"{}\"", clip(t)))),
    }
}
