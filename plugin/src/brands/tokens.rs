//! A brand's access-token cache: the one piece of storage a brand's client
//! touches, under `token/{brand}`.

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

/// Where the storage key of a brand's token lives.
pub fn token_key(brand: &str) -> String {
    format!("token/{brand}")
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

    pub fn load(&self) -> Result<Option<CachedToken>, VendorError> {
        match self.storage.get(&self.key).map_err(VendorError::host)? {
            None => Ok(None),
            // An unreadable token is no token: a new one is fetched.
            Some(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        }
    }

    pub fn save(&self, token: &CachedToken) -> Result<(), VendorError> {
        let bytes = serde_json::to_vec(token).map_err(|e| VendorError::Host(format!("cannot encode a token: {e}")))?;
        self.storage.apply(vec![Write::Set(self.key.clone(), bytes)]).map_err(VendorError::host)
    }
}
