//! The generated bindings of world `smartlock-plugin` (`wit/`), in one
//! module so that the runtime and the imports both depend on it and not on
//! each other.

/// Generated bindings of world `smartlock-plugin` (`wit/`). Imports return
/// `wasmtime::Result` so a host failure could trap; the imports here only
/// ever return WIT errors.
#[allow(unused_variables, missing_docs)] // generated: the linker code of the function-less `types`
pub mod generated {
    wasmtime::component::bindgen!({
        world: "smartlock-plugin",
        path: "../../wit",
        imports: { default: trappable },
        additional_derives: [PartialEq, serde::Serialize, serde::Deserialize],
    });
}

/// The contract's types, as the host's callers name them.
pub mod api {
    pub use super::generated::exports::pms::smartlock::admin::{
        Account, Assignment, BrandInfo, CodeState, CodeStatus, Credential, CredentialField, DoorCode, FallbackCode,
        LockInfo, RemotePath, Settings, SharedDoor, Window,
    };
    pub use super::generated::exports::pms::smartlock::events::TickSummary;
    pub use super::generated::pms::smartlock::code_events::{CodeEvent, EventKind};
    pub use super::generated::pms::smartlock::types::{
        Booking, BookingEvent, BookingStatus, BrandId, Error, FieldError, Instant, Property,
    };

    /// Credentials from `(field, value)` pairs, e.g.
    /// `credentials(&[("api_token", token)])`.
    pub fn credentials(pairs: &[(&str, &str)]) -> Vec<Credential> {
        pairs.iter().map(|(name, value)| Credential { name: name.to_string(), value: value.to_string() }).collect()
    }
}

pub use generated::{SmartlockPlugin, SmartlockPluginPre};
