//! The plugin's storage layout on top of the host's key-value import.
//!
//! Records are JSON under one key each; the indexes that let a tick find due
//! work without scanning everything are separate keys, written in the same
//! atomic batch as the record they describe (see [`Store::save_booking`]).
//!
//! | key                         | value                                  |
//! |-----------------------------|----------------------------------------|
//! | `acct/{brand}`              | [`Connection`] (credentials)           |
//! | `token/{brand}`             | the brand's cached access token        |
//! | `prop/{property}`           | [`PropertyFacts`]                      |
//! | `asg/{property}`            | [`Assignment`] (backup pool size included) |
//! | `px/{property}`             | [`PropertyExtras`]: shared doors (and 0.3.0's pool size) |
//! | `bk/{record}`               | [`BookingRecord`] (see below)          |
//! | `pb/{property}/{booking}`   | index: the property's bookings        |
//! | `due/{t:012}/{booking}`     | index: when a booking next needs work  |
//! | `pin/{lock}/{pin}`          | index: PINs held on a lock -> booking  |
//! | `fly/{channel}/{booking}`   | index: writes in flight on a channel -> when each should be done |
//! | `sent/{channel}`            | when the channel's latest writes were sent, where its brand has a write budget |
//!
//! A record's id ([`BookingRecord::record_id`]) is the booking's id for its
//! code on the property's own lock; a booking's code on a shared door (R26)
//! and a backup pool's slot (R25) have derived ids with a control-character
//! separator, so the indexes above (`{booking}` there) carry them unchanged.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::brands::{BrandId, Connection};
use crate::host::{Storage, StorageError, Write};
use crate::lifecycle::BookingRecord;
use crate::model::{Assignment, PropertyExtras, PropertyFacts};
use crate::schedule::Instant;

use crate::keys::unesc;
pub use crate::keys::{esc, set};

pub const DUE_PREFIX: &str = "due/";
const CONNECTION_PREFIX: &str = "acct/";

pub fn connection_key(brand: BrandId) -> String {
    format!("{CONNECTION_PREFIX}{}", brand.id())
}
pub fn token_key(brand: BrandId) -> String {
    crate::brands::token_key(brand.id())
}

pub fn property_key(id: &str) -> String {
    format!("prop/{}", esc(id))
}
pub fn assignment_key(property: &str) -> String {
    format!("asg/{}", esc(property))
}
pub const EXTRAS_PREFIX: &str = "px/";
pub fn extras_key(property: &str) -> String {
    format!("{EXTRAS_PREFIX}{}", esc(property))
}
pub fn booking_key(id: &str) -> String {
    format!("bk/{}", esc(id))
}
pub fn property_bookings_prefix(property: &str) -> String {
    format!("pb/{}/", esc(property))
}
fn property_booking_key(property: &str, booking: &str) -> String {
    format!("pb/{}/{}", esc(property), esc(booking))
}
/// Zero-padded so that byte order is time order (instants before 1970 are
/// clamped: nothing is ever due that early).
pub fn due_key(at: Instant, booking: &str) -> String {
    format!("due/{:012}/{}", at.max(0), esc(booking))
}
pub fn parse_due_key(key: &str) -> Option<(Instant, String)> {
    let rest = key.strip_prefix(DUE_PREFIX)?;
    let (t, id) = rest.split_once('/')?;
    Some((t.parse().ok()?, unesc(id)?))
}
pub fn pin_key(lock: &str, pin: &str) -> String {
    format!("pin/{}/{}", esc(lock), pin)
}
/// Where every channel's writes in flight are indexed.
pub const IN_FLIGHT_ROOT: &str = "fly/";
pub fn in_flight_prefix(channel: &str) -> String {
    format!("{IN_FLIGHT_ROOT}{}/", esc(channel))
}
fn in_flight_key(channel: &str, booking: &str) -> String {
    format!("{IN_FLIGHT_ROOT}{}/{}", esc(channel), esc(booking))
}
/// Written only with the job a write belongs to ([`Store::save_booking`]'s
/// batch), so a write is counted exactly when its job is stored.
pub fn sent_key(channel: &str) -> String {
    format!("sent/{}", esc(channel))
}

/// Reads a stored record; state written by 0.1 is brought to today's names
/// first (only when it does not read as it is and its bytes hold one of
/// 0.1's).
fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StorageError> {
    // Unreadable state is reported, never guessed at.
    let unreadable = |e: serde_json::Error| StorageError::Unavailable(format!("record {key} is unreadable: {e}"));
    // Today's records parse as they are. Only a record that does not (a
    // required field missing) is looked at for 0.1's names: records written
    // since 0.2 never pay for the search.
    match serde_json::from_slice(bytes) {
        Ok(record) => Ok(record),
        Err(e) if crate::brands::legacy::needs_upgrade(bytes) => {
            let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|_| unreadable(e))?;
            crate::brands::legacy::upgrade(&mut value);
            serde_json::from_value(value).map_err(unreadable)
        }
        Err(e) => Err(unreadable(e)),
    }
}

/// Whether a stored assignment names its backup pool size (0.3.0's did
/// not: it kept the size in the property's extras).
fn names_pool(key: &str, bytes: &[u8]) -> Result<bool, StorageError> {
    #[derive(serde::Deserialize)]
    struct Pool {
        backup_codes: Option<serde::de::IgnoredAny>,
    }
    decode::<Pool>(key, bytes).map(|p| p.backup_codes.is_some())
}

/// Typed access to the host storage.
pub struct Store<'h, S: Storage + ?Sized> {
    storage: &'h S,
}

impl<'h, S: Storage + ?Sized> Store<'h, S> {
    pub fn new(storage: &'h S) -> Self {
        Store { storage }
    }

    pub fn raw(&self) -> &'h S {
        self.storage
    }

    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StorageError> {
        match self.storage.get(key)? {
            None => Ok(None),
            Some(bytes) => decode(key, &bytes).map(Some),
        }
    }

    pub fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StorageError> {
        self.storage.apply(vec![set(key, value)?])
    }

    pub fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.storage.apply(vec![Write::Delete(key.to_string())])
    }

    pub fn apply(&self, writes: Vec<Write>) -> Result<(), StorageError> {
        self.storage.apply(writes)
    }

    pub fn property(&self, id: &str) -> Result<Option<PropertyFacts>, StorageError> {
        self.get(&property_key(id))
    }

    /// The property's assignment. One stored by 0.3.0 lacks its backup
    /// pool size, which is then read from the property's extras, where
    /// 0.3.0 kept it; the next save of the assignment stores it in the
    /// assignment ([`Store::forget_pool_0_3`] then clears the old place).
    pub fn assignment(&self, property: &str) -> Result<Option<Assignment>, StorageError> {
        let key = assignment_key(property);
        let Some(bytes) = self.storage.get(&key)? else { return Ok(None) };
        let mut a: Assignment = decode(&key, &bytes)?;
        if a.backup_codes == 0 && !names_pool(&key, &bytes)? {
            a.backup_codes = self.extras(property)?.backup_codes_0_3;
        }
        Ok(Some(a))
    }

    /// Once the assignment holds the pool size (or is gone with its pool),
    /// the size 0.3.0 kept in the property's extras goes (`extras` as read).
    pub fn forget_pool_0_3(&self, property: &str, extras: &PropertyExtras) -> Result<(), StorageError> {
        if extras.backup_codes_0_3 == 0 {
            return Ok(());
        }
        self.put_extras(property, &PropertyExtras { backup_codes_0_3: 0, ..extras.clone() })
    }

    /// The property's assignment while its vendor is connected (a code can
    /// only be planned then).
    pub fn connected_assignment(&self, property: &str) -> Result<Option<Assignment>, StorageError> {
        match self.assignment(property)? {
            Some(a) if self.connection(a.provider)?.is_some() => Ok(Some(a)),
            _ => Ok(None),
        }
    }

    /// The property's shared doors (none when absent).
    pub fn extras(&self, property: &str) -> Result<PropertyExtras, StorageError> {
        Ok(self.get(&extras_key(property))?.unwrap_or_default())
    }

    pub fn put_extras(&self, property: &str, extras: &PropertyExtras) -> Result<(), StorageError> {
        if extras.is_empty() {
            self.delete(&extras_key(property))
        } else {
            self.put(&extras_key(property), extras)
        }
    }

    pub fn connection(&self, brand: BrandId) -> Result<Option<Connection>, StorageError> {
        self.get(&connection_key(brand))
    }

    /// Every connected brand (a record of a brand this build lacks is skipped).
    pub fn connections(&self) -> Result<Vec<Connection>, StorageError> {
        let mut out = Vec::new();
        for key in self.keys_with_prefix(CONNECTION_PREFIX)? {
            if let Some(c) = self.get::<Connection>(&key)? {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// A booking's record, remembering what storage holds of it (a save
    /// that would not change it is skipped).
    pub fn booking(&self, id: &str) -> Result<Option<BookingRecord>, StorageError> {
        let key = booking_key(id);
        let Some(bytes) = self.storage.get(&key)? else { return Ok(None) };
        let mut rec: BookingRecord = decode(&key, &bytes)?;
        rec.stored = crate::lifecycle::Stored::of(bytes);
        Ok(Some(rec))
    }

    /// The booking's records on its shared doors (R26), in the order the
    /// doors were added (`rec` is its own-lock record).
    pub fn door_records(&self, rec: &BookingRecord) -> Result<Vec<BookingRecord>, StorageError> {
        let mut out = Vec::with_capacity(rec.doors.len());
        for d in &rec.doors {
            if let Some(door) =
                self.booking(&crate::lifecycle::door_record_id(&rec.facts.id, d.provider, &d.lock_id))?
            {
                out.push(door);
            }
        }
        Ok(out)
    }

    /// Every key under `prefix`, page by page.
    pub fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.storage.list(prefix, after.as_deref(), 500)?;
            let full = page.len() == 500;
            after = page.last().map(|(k, _)| k.clone());
            out.extend(page.into_iter().map(|(k, _)| k));
            if !full {
                return Ok(out);
            }
        }
    }

    /// Ids of the property's bookings.
    pub fn bookings_of_property(&self, property: &str) -> Result<Vec<String>, StorageError> {
        let prefix = property_bookings_prefix(property);
        Ok(self.keys_with_prefix(&prefix)?.iter().filter_map(|k| k.strip_prefix(&prefix).and_then(unesc)).collect())
    }

    /// The booking holding `pin` on `lock`, if any.
    pub fn pin_holder(&self, lock: &str, pin: &str) -> Result<Option<String>, StorageError> {
        Ok(self.storage.get(&pin_key(lock, pin))?.map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// Bookings with a write in flight on the channel (at most `limit`),
    /// with when each should be done (0 when unknown).
    pub fn in_flight(&self, channel: &str, limit: u32) -> Result<Vec<(String, Instant)>, StorageError> {
        let prefix = in_flight_prefix(channel);
        Ok(self
            .storage
            .list(&prefix, None, limit)?
            .iter()
            .filter_map(|(k, v)| {
                let done_by = std::str::from_utf8(v).ok().and_then(|v| v.parse().ok()).unwrap_or(0);
                Some((k.strip_prefix(&prefix).and_then(unesc)?, done_by))
            })
            .collect())
    }

    /// When the channel's latest writes were sent (at most its brand's
    /// [`crate::brands::WriteBudget`]'s count of them), oldest first.
    pub fn sent(&self, channel: &str) -> Result<Vec<Instant>, StorageError> {
        Ok(self.get(&sent_key(channel))?.unwrap_or_default())
    }

    /// Writes the record and brings its index entries in line with it, all
    /// in one atomic batch: the record is the truth, the indexes never
    /// disagree with it after a crash. `extra` rides along in the batch.
    ///
    /// The code events (R27) the change makes ride in the same batch.
    pub fn save_booking(&self, rec: &mut BookingRecord, now: Instant, extra: Vec<Write>) -> Result<(), StorageError> {
        let id = rec.record_id();
        let reported = rec.reported.clone();
        let mut writes = extra;
        writes.extend(crate::notify::booking_events(rec, now));
        let want = rec.wanted_index();
        let have = std::mem::take(&mut rec.indexed);

        if have.due != want.due {
            if let Some(t) = have.due {
                writes.push(Write::Delete(due_key(t, &id)));
            }
            if let Some(t) = want.due {
                writes.push(Write::Set(due_key(t, &id), Vec::new()));
            }
        }
        for (lock, pin) in &have.pins {
            if !want.pins.contains(&(lock.clone(), pin.clone())) {
                writes.push(Write::Delete(pin_key(lock, pin)));
            }
        }
        for (lock, pin) in &want.pins {
            if !have.pins.contains(&(lock.clone(), pin.clone())) {
                writes.push(Write::Set(pin_key(lock, pin), id.as_bytes().to_vec()));
            }
        }
        if (&have.in_flight, have.in_flight_done_by) != (&want.in_flight, want.in_flight_done_by) {
            if let Some(b) = &have.in_flight {
                writes.push(Write::Delete(in_flight_key(b, &id)));
            }
            if let Some(b) = &want.in_flight {
                let done_by = want.in_flight_done_by.unwrap_or(0).to_string();
                writes.push(Write::Set(in_flight_key(b, &id), done_by.into_bytes()));
            }
        }
        if have.property != want.property {
            if let Some(p) = &have.property {
                writes.push(Write::Delete(property_booking_key(p, &id)));
            }
            if let Some(p) = &want.property {
                writes.push(Write::Set(property_booking_key(p, &id), Vec::new()));
            }
        }

        rec.indexed = want;
        let key = booking_key(&id);
        let bytes = match crate::keys::encode(&key, rec) {
            Ok(bytes) => bytes,
            Err(e) => {
                rec.indexed = have;
                rec.reported = reported;
                return Err(e);
            }
        };
        if writes.is_empty() && rec.stored.holds(&bytes) {
            // Storage holds exactly this already, indexes included.
            return Ok(());
        }
        let stored = crate::lifecycle::Stored::of(bytes.clone());
        writes.push(Write::Set(key, bytes));
        self.storage.apply(writes).inspect_err(|_| {
            // The batch did not happen: the record's idea of its indexes
            // and reports must stay what storage holds.
            rec.indexed = have.clone();
            rec.reported = reported.clone();
        })?;
        rec.stored = stored;
        Ok(())
    }
}
