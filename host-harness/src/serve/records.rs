//! The PMS's own records, kept by the host beside the plugin's state: the
//! properties (sent along with every booking event, as a PMS does) and the
//! bookings (listed per property in the panel).
//!
//! Each tenant's records live in their own namespace of the service's
//! database, `pms/{tenant}` (a tenant id has no `/`, so it never meets a plugin
//! namespace), under these keys (ids escaped, see [`esc`]):
//!
//! | key | value |
//! |---|---|
//! | `property/{property}` | a [`PropertyRecord`] |
//! | `of/{property}/{booking}` | a [`BookingRecord`] |
//! | `booking/{booking}` | the booking's property id (to find its record) |

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::api;
use std::sync::Arc;

use crate::imports::{KvStore, StorageError, Write};
use crate::Fence;

use super::db::Database;

/// A property as the PMS knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyRecord {
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub check_in_time: Option<String>,
    pub check_out_time: Option<String>,
}

impl PropertyRecord {
    pub fn to_api(&self) -> api::Property {
        api::Property {
            id: self.id.clone(),
            name: self.name.clone(),
            timezone: self.timezone.clone(),
            check_in_time: self.check_in_time.clone(),
            check_out_time: self.check_out_time.clone(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "timezone": self.timezone,
            "check_in_time": self.check_in_time,
            "check_out_time": self.check_out_time,
        })
    }
}

/// A booking as the PMS knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRecord {
    pub id: String,
    pub property_id: String,
    pub guest_name: Option<String>,
    pub check_in: String,
    pub check_out: String,
    pub check_in_time: Option<String>,
    pub check_out_time: Option<String>,
    /// `confirmed` or `cancelled`.
    pub status: String,
}

impl BookingRecord {
    pub fn cancelled(&self) -> bool {
        self.status == "cancelled"
    }

    pub fn to_api(&self) -> api::Booking {
        api::Booking {
            id: self.id.clone(),
            property_id: self.property_id.clone(),
            guest_name: self.guest_name.clone(),
            check_in: self.check_in.clone(),
            check_out: self.check_out.clone(),
            check_in_time: self.check_in_time.clone(),
            check_out_time: self.check_out_time.clone(),
            status: if self.cancelled() { api::BookingStatus::Cancelled } else { api::BookingStatus::Confirmed },
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "property_id": self.property_id,
            "guest_name": self.guest_name,
            "check_in": self.check_in,
            "check_out": self.check_out,
            "check_in_time": self.check_in_time,
            "check_out_time": self.check_out_time,
            "status": self.status,
        })
    }
}

/// Escapes an id for use as one key segment: `%` and `/` are
/// percent-encoded, so `of/a/` never lists the bookings of property `a/b`.
pub fn esc(id: &str) -> String {
    id.replace('%', "%25").replace('/', "%2F")
}

/// Listing page size (the storage's cap is 1000).
const PAGE: u32 = 500;

/// One tenant's records.
#[derive(Clone)]
pub struct Records {
    store: Arc<dyn KvStore>,
}

fn decode<T: for<'de> Deserialize<'de>>(key: &str, bytes: &[u8]) -> Result<T, StorageError> {
    serde_json::from_slice(bytes).map_err(|e| StorageError::Unavailable(format!("record {key:?} is unreadable: {e}")))
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

impl Records {
    /// The namespace of `tenant`'s records in `db` (with PostgreSQL, written
    /// only in the tenant's turn, through `fence`).
    pub fn new(db: &Database, tenant: &str, fence: Option<&Fence>) -> Records {
        Records { store: db.tenant_store(&format!("pms/{tenant}"), fence) }
    }

    /// Every entry under `prefix`, page by page.
    fn list_all(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        let mut out: Vec<(String, Vec<u8>)> = Vec::new();
        loop {
            let after = out.last().map(|(k, _)| k.clone());
            let page = self.store.list(prefix, after.as_deref(), PAGE)?;
            let done = page.len() < PAGE as usize;
            out.extend(page);
            if done {
                return Ok(out);
            }
        }
    }

    pub fn property(&self, id: &str) -> Result<Option<PropertyRecord>, StorageError> {
        let key = format!("property/{}", esc(id));
        self.store.get(&key)?.map(|b| decode(&key, &b)).transpose()
    }

    /// Every property, by id.
    pub fn properties(&self) -> Result<Vec<PropertyRecord>, StorageError> {
        self.list_all("property/")?.iter().map(|(k, v)| decode(k, v)).collect()
    }

    pub fn put_property(&self, p: &PropertyRecord) -> Result<(), StorageError> {
        self.store.set(&format!("property/{}", esc(&p.id)), &encode(p))
    }

    pub fn booking(&self, id: &str) -> Result<Option<BookingRecord>, StorageError> {
        let Some(pointer) = self.store.get(&format!("booking/{}", esc(id)))? else {
            return Ok(None);
        };
        let property = String::from_utf8_lossy(&pointer).into_owned();
        let key = format!("of/{}/{}", esc(&property), esc(id));
        self.store.get(&key)?.map(|b| decode(&key, &b)).transpose()
    }

    /// Saves a booking (moving it from the property it was on, if another),
    /// atomically.
    pub fn put_booking(&self, b: &BookingRecord, previous: Option<&BookingRecord>) -> Result<(), StorageError> {
        let mut writes = Vec::new();
        if let Some(old) = previous.filter(|old| old.property_id != b.property_id) {
            writes.push(Write::Delete { key: format!("of/{}/{}", esc(&old.property_id), esc(&old.id)) });
        }
        writes.push(Write::Set { key: format!("of/{}/{}", esc(&b.property_id), esc(&b.id)), value: encode(b) });
        writes.push(Write::Set { key: format!("booking/{}", esc(&b.id)), value: b.property_id.as_bytes().to_vec() });
        self.store.apply(&writes)
    }

    /// The property's bookings, by booking id.
    pub fn bookings_of(&self, property: &str) -> Result<Vec<BookingRecord>, StorageError> {
        self.list_all(&format!("of/{}/", esc(property)))?.iter().map(|(k, v)| decode(k, v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booking(id: &str, property: &str) -> BookingRecord {
        BookingRecord {
            id: id.into(),
            property_id: property.into(),
            guest_name: None,
            check_in: "2026-03-20".into(),
            check_out: "2026-03-22".into(),
            check_in_time: None,
            check_out_time: None,
            status: "confirmed".into(),
        }
    }

    #[test]
    fn bookings_are_listed_per_property_and_move_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::Sqlite(crate::imports::SqliteDb::open(dir.path().join("r.sqlite")).unwrap());
        let r = Records::new(&db, "t1", None);
        r.put_booking(&booking("b1", "a"), None).unwrap();
        r.put_booking(&booking("b2", "a/b"), None).unwrap();
        assert_eq!(r.bookings_of("a").unwrap().len(), 1, "a/b's bookings are not a's");
        let moved = booking("b1", "c");
        r.put_booking(&moved, r.booking("b1").unwrap().as_ref()).unwrap();
        assert!(r.bookings_of("a").unwrap().is_empty());
        assert_eq!(r.booking("b1").unwrap(), Some(moved));
        assert_eq!(Records::new(&db, "t2", None).booking("b1").unwrap(), None, "tenants are apart");
    }
}
