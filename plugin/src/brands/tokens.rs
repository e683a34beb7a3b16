//! A brand's access-token cache: the one piece of storage a brand's client
//! touches, under `token/{brand}`.
//!
//! Within one export call ([`CallScope`]) a token is read from storage at
//! most once per brand and then kept in memory: a tick that sends 25 vendor
//! requests for one brand reads `token/{brand}` once, not 25 times. Outside
//! a scope (native tests, tools) every load reads storage.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::VendorError;
use crate::host::{Storage, Write};
use crate::schedule::Instant;

/// A brand's access token, cached until shortly before it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedToken {
    pub access_token: String,
    pub expires_at: Instant,
    /// Where the brand renews tokens without the password (TTLock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// The storage prefix of every brand's token.
pub const TOKEN_PREFIX: &str = "token/";

/// Where the storage key of a brand's token lives.
pub fn token_key(brand: &str) -> String {
    format!("{TOKEN_PREFIX}{brand}")
}

thread_local! {
    /// Tokens known in the current call, by storage key (`None`: storage
    /// has none); `None` outside a [`CallScope`]. The component is
    /// single-threaded, so one call owns it.
    static IN_CALL: RefCell<Option<HashMap<String, Option<CachedToken>>>> = const { RefCell::new(None) };
}

/// Keeps tokens in memory from its creation until it is dropped: make one
/// at the start of an export call, drop it at its end, so that nothing read
/// in one call is trusted in the next (another instance may have renewed
/// the token meanwhile).
#[must_use = "the cache lives only as long as the scope"]
pub struct CallScope(());

impl CallScope {
    pub fn begin() -> Self {
        IN_CALL.with(|c| *c.borrow_mut() = Some(HashMap::new()));
        CallScope(())
    }
}

impl Drop for CallScope {
    fn drop(&mut self) {
        IN_CALL.with(|c| *c.borrow_mut() = None);
    }
}

/// Drops what the current call remembers of every token: a write to a
/// `token/` key by any other path than [`TokenCache::save`] (a disconnect)
/// must be read back from storage.
pub fn forget_all() {
    IN_CALL.with(|c| {
        if let Some(known) = c.borrow_mut().as_mut() {
            known.clear();
        }
    });
}

fn remembered(key: &str) -> Option<Option<CachedToken>> {
    IN_CALL.with(|c| c.borrow().as_ref().and_then(|known| known.get(key).cloned()))
}

fn remember(key: &str, token: Option<CachedToken>) {
    IN_CALL.with(|c| {
        if let Some(known) = c.borrow_mut().as_mut() {
            known.insert(key.to_string(), token);
        }
    });
}

/// One brand's token slot in the tenant's storage.
pub struct TokenCache<'h, S: Storage + ?Sized> {
    storage: &'h S,
    key: String,
}

impl<'h, S: Storage + ?Sized> TokenCache<'h, S> {
    pub fn new(storage: &'h S, brand: &str) -> Self {
        TokenCache { storage, key: token_key(brand) }
    }

    /// The stored token: from memory when this call already read or saved
    /// it, else from storage.
    pub fn load(&self) -> Result<Option<CachedToken>, VendorError> {
        if let Some(known) = remembered(&self.key) {
            return Ok(known);
        }
        let token = match self.storage.get(&self.key).map_err(VendorError::host)? {
            None => None,
            // An unreadable token is no token: a new one is fetched.
            Some(bytes) => serde_json::from_slice(&bytes).ok(),
        };
        remember(&self.key, token.clone());
        Ok(token)
    }

    pub fn save(&self, token: &CachedToken) -> Result<(), VendorError> {
        let bytes = serde_json::to_vec(token).map_err(|e| VendorError::Host(format!("cannot encode a token: {e}")))?;
        self.storage.apply(vec![Write::Set(self.key.clone(), bytes)]).map_err(VendorError::host)?;
        remember(&self.key, Some(token.clone()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::collections::BTreeMap;

    use super::*;
    use crate::host::StorageError;

    /// Storage that counts its reads.
    #[derive(Default)]
    struct Counting {
        kv: RefCell<BTreeMap<String, Vec<u8>>>,
        gets: Cell<u32>,
    }

    impl Storage for Counting {
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
            self.gets.set(self.gets.get() + 1);
            Ok(self.kv.borrow().get(key).cloned())
        }

        fn apply(&self, writes: Vec<Write>) -> Result<(), StorageError> {
            for w in writes {
                match w {
                    Write::Set(k, v) => self.kv.borrow_mut().insert(k, v),
                    Write::Delete(k) => self.kv.borrow_mut().remove(&k),
                };
            }
            Ok(())
        }

        fn list(&self, _: &str, _: Option<&str>, _: u32) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
            Ok(Vec::new())
        }
    }

    fn token(access: &str) -> CachedToken {
        CachedToken { access_token: access.into(), expires_at: 1_000, refresh_token: None }
    }

    #[test]
    fn one_read_per_brand_within_a_call_and_fresh_reads_after_it() {
        let storage = Counting::default();
        TokenCache::new(&storage, "a").save(&token("t1")).unwrap();
        {
            let _call = CallScope::begin();
            for _ in 0..5 {
                assert_eq!(TokenCache::new(&storage, "a").load().unwrap(), Some(token("t1")));
                assert_eq!(TokenCache::new(&storage, "b").load().unwrap(), None);
            }
            assert_eq!(storage.gets.get(), 2, "one read per brand");
            // A save is what later loads in the same call see, without a read.
            TokenCache::new(&storage, "a").save(&token("t2")).unwrap();
            assert_eq!(TokenCache::new(&storage, "a").load().unwrap(), Some(token("t2")));
            assert_eq!(storage.gets.get(), 2);
            // A write by another path (a disconnect) is read back.
            storage.apply(vec![Write::Delete(token_key("a"))]).unwrap();
            forget_all();
            assert_eq!(TokenCache::new(&storage, "a").load().unwrap(), None);
            assert_eq!(storage.gets.get(), 3);
        }
        // Outside a call nothing is remembered.
        TokenCache::new(&storage, "a").load().unwrap();
        TokenCache::new(&storage, "a").load().unwrap();
        assert_eq!(storage.gets.get(), 5);
    }
}
