//! How records become storage keys and values: ids escaped so that a `/`
//! inside one cannot break a key's structure, values as JSON. Shared by the
//! store, the event queue and lock health, which depend on nothing else of
//! each other for it.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;

use crate::host::{StorageError, Write};

/// Ids are escaped so that `/` inside an id cannot break the key structure.
const KEY_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

pub fn esc(id: &str) -> String {
    utf8_percent_encode(id, KEY_ESCAPE).to_string()
}

pub fn unesc(s: &str) -> Option<String> {
    percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned())
}

/// A write that stores `value` as JSON under `key`.
pub fn set<T: Serialize>(key: &str, value: &T) -> Result<Write, StorageError> {
    encode(key, value).map(|bytes| Write::Set(key.to_string(), bytes))
}

/// `value` as the JSON stored under `key` (the key names it in the error).
pub fn encode<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>, StorageError> {
    serde_json::to_vec(value).map_err(|e| StorageError::Unavailable(format!("cannot encode {key}: {e}")))
}
