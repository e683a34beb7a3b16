//! The brands (lock vendors), as a registry.
//!
//! Each brand is one module exporting one descriptor, `BRAND` ([`Brand`]:
//! id, display name, connect-form fields and how they are stored, the
//! origins its API lives at, its [`Capabilities`]) and one constructor,
//! `client`, of its [`Vendor`] client. The [`registry!`] line below is the
//! only place that lists them; the core (model, lifecycle, store, tick,
//! admin, alert, pin) speaks of a brand only through [`BrandId`], its
//! descriptor and the [`Vendor`] trait, and brands reach storage only
//! through the [`TokenCache`] they are handed.
//!
//! Adding a brand: a module here with `BRAND` and `client`, its name in the
//! `registry!` line, and its stub in `smartlock-stubs`. Nothing else.

mod client;
mod descriptor;
pub(crate) mod legacy;
mod tokens;

pub mod igloohome;
pub mod nuki;
pub mod seam;
pub mod ttlock;

pub use client::*;
pub use descriptor::{fields, Brand, BrandId, Connection, CredentialField, Credentials, FieldProblem, Fields};
pub use tokens::{forget_all as forget_tokens, CallScope as TokenScope};
pub use tokens::{token_key, CachedToken, TokenCache, TOKEN_PREFIX};

use crate::host::Host;

/// Lists the brand modules once: the registry the core iterates over, and
/// the one dispatch from a connection to its brand's client.
macro_rules! registry {
    ($($brand:ident),+ $(,)?) => {
        /// Every brand of this build, in the order forms and lists show them.
        pub static REGISTRY: &[&Brand] = &[$(&$brand::BRAND),+];

        /// A client for the connection's brand.
        pub fn client<'h, H: Host + ?Sized>(host: &'h H, connection: &'h Connection) -> Box<dyn Vendor + 'h> {
            let id = connection.brand().id();
            $(
                if id == $brand::BRAND.id {
                    return $brand::client(host, &connection.credentials, TokenCache::new(host, id));
                }
            )+
            unreachable!("a BrandId only names registered brands")
        }
    };
}

registry!(igloohome, nuki, ttlock, seam);

/// The brand that state written before brands were recorded (0.1) belongs to.
pub(crate) fn legacy_brand() -> BrandId {
    BrandId::from(&igloohome::BRAND)
}

/// A name echoed back in an error, cut short.
fn clip_name(name: &str) -> String {
    name.chars().take(40).collect()
}

/// How codes reached a lock of 0.1 state (no remote stored): the legacy
/// brand's bridge, the assignment's channel.
pub(crate) fn legacy_remote(channel: &str) -> Remote {
    Remote::through("bridge", channel)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R30: every brand is data — a unique id, a name, a connect form whose
    /// fields are named and labelled, what a lock needs, and origins a host
    /// can allow — and its stored credentials say which brand they are.
    #[test]
    fn r30_every_brand_is_listed_once_with_its_form_origins_and_needs() {
        let ids: Vec<&str> = REGISTRY.iter().map(|b| b.id).collect();
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        for brand in REGISTRY {
            assert!(!brand.name.is_empty() && !brand.capabilities.needs.is_empty(), "{}", brand.id);
            assert!(!brand.fields.is_empty() && brand.fields.iter().all(|f| !f.name.is_empty() && !f.label.is_empty()));
            assert!(brand.fields.iter().any(|f| f.secret), "{}: a form without a secret", brand.id);
            assert!(!brand.origins.is_empty(), "{}", brand.id);
            for origin in brand.origins {
                let rest = origin.strip_prefix("https://").unwrap_or_else(|| panic!("{}: {origin}", brand.id));
                assert!(!rest.is_empty() && !rest.contains('/'), "{}: an origin is scheme://host: {origin}", brand.id);
            }
            assert_eq!(BrandId::parse(brand.id).map(BrandId::id), Some(brand.id));
            // Every field is required; an unknown one is named.
            let mut given: Fields = brand.fields.iter().map(|f| (f.name.to_string(), "x".to_string())).collect();
            assert!(brand.credentials(given.clone()).is_ok(), "{}", brand.id);
            given.insert("colour".into(), "blue".into());
            let problems = brand.credentials(given).expect_err("an unknown field");
            assert!(problems.iter().any(|p| p.field == "colour"), "{problems:?}");
            let empty = brand.credentials(Fields::new()).expect_err("nothing given");
            assert_eq!(empty.len(), brand.fields.len(), "{}: every missing field named at once", brand.id);
        }
        assert!(BrandId::parse("acme").is_none());
    }
}
