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
mod tokens;

pub mod igloohome;
pub mod nuki;
pub mod seam;
pub mod ttlock;

pub use client::*;
pub use descriptor::{fields, Brand, BrandId, Connection, CredentialField, Credentials, FieldProblem, Fields};
pub use tokens::{token_key, CachedToken, TokenCache};

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
