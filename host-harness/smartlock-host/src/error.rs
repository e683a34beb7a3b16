//! The plugin's errors as a Rust error type whose `Display` is a plain
//! sentence a dashboard can show.

use crate::bindings::api;

/// Why an export of the plugin refused a call: the contract's `error`
/// variant, with a `Display` that reads as one sentence. Field names are
/// written with underscores (`margin_minutes`), as JSON APIs and scenario
/// files spell them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PluginError {
    /// Bad input: the field and the reason.
    #[error("{} {}", field_name(&.0.field), .0.reason)]
    InvalidInput(api::FieldError),
    /// An unknown property, lock or booking.
    #[error("{} {}", field_name(&.0.field), .0.reason)]
    NotFound(api::FieldError),
    /// No account of this lock brand (its id) is connected; the sentence
    /// names the brand as the loaded component lists it.
    #[error("no {} account is connected", brand_name(.0))]
    NotConnected(String),
    /// The vendor refused the credentials; nothing was stored.
    #[error("the credentials were refused: {0}")]
    CredentialsRejected(String),
    /// Codes cannot reach the lock remotely; the sentence says what it needs.
    #[error("{0}")]
    LockNotRemote(String),
    /// The property holds a lock of another brand.
    #[error("{0}")]
    OtherProviderAssigned(String),
    /// The brand is not available in this plugin version.
    #[error("{0}")]
    ProviderUnsupported(String),
    /// The vendor's API failed; the same call may succeed later.
    #[error("the lock vendor is unavailable: {0}")]
    VendorUnavailable(String),
    /// The host's storage failed.
    #[error("storage failed: {0}")]
    StorageFailed(String),
}

/// Display names of the brands the components loaded in this process list
/// (R30), for sentences: filled by [`crate::Runtime::brands`].
static BRAND_NAMES: std::sync::RwLock<Vec<(String, String)>> = std::sync::RwLock::new(Vec::new());

pub(crate) fn learn_brand_names(brands: &[api::BrandInfo]) {
    let mut names = BRAND_NAMES.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    for b in brands {
        if !names.iter().any(|(id, _)| *id == b.id) {
            names.push((b.id.clone(), b.name.clone()));
        }
    }
}

/// The brand's display name where a loaded component listed it, else its id.
fn brand_name(id: &str) -> String {
    let names = BRAND_NAMES.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    names.iter().find(|(b, _)| b == id).map_or_else(|| id.to_owned(), |(_, name)| name.clone())
}

fn field_name(field: &str) -> String {
    field.replace('-', "_")
}

impl From<api::Error> for PluginError {
    fn from(e: api::Error) -> Self {
        match e {
            api::Error::InvalidInput(f) => PluginError::InvalidInput(f),
            api::Error::NotFound(f) => PluginError::NotFound(f),
            api::Error::NotConnected(p) => PluginError::NotConnected(p),
            api::Error::CredentialsRejected(m) => PluginError::CredentialsRejected(m),
            api::Error::LockNotRemote(m) => PluginError::LockNotRemote(m),
            api::Error::OtherBrandAssigned(m) => PluginError::OtherProviderAssigned(m),
            api::Error::UnknownBrand(m) => PluginError::ProviderUnsupported(m),
            api::Error::VendorUnavailable(m) => PluginError::VendorUnavailable(m),
            api::Error::StorageFailed(m) => PluginError::StorageFailed(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_name_the_field_with_underscores() {
        let e = PluginError::from(api::Error::InvalidInput(api::FieldError {
            field: "margin-minutes".into(),
            reason: "must be between 0 and 240".into(),
        }));
        assert_eq!(e.to_string(), "margin_minutes must be between 0 and 240");
        let e = PluginError::from(api::Error::LockNotRemote("the lock \"Front\" cannot be reached remotely".into()));
        assert_eq!(e.to_string(), "the lock \"Front\" cannot be reached remotely");
        let e = PluginError::from(api::Error::NotConnected("acme".into()));
        assert_eq!(e.to_string(), "no acme account is connected", "an id no component listed");
        learn_brand_names(&[api::BrandInfo {
            id: "acme".into(),
            name: "ACME Locks".into(),
            credentials: vec![],
            lock_needs: "a hub".into(),
            origins: vec![],
        }]);
        assert_eq!(e.to_string(), "no ACME Locks account is connected");
    }
}
