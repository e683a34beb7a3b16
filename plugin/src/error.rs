//! The plugin's error type; one variant per case the host must tell apart,
//! mirroring the WIT `types.error` variant.

use crate::brands::BrandId;
use crate::host::StorageError;
use crate::schedule::ScheduleError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    #[error("{field} {reason}")]
    InvalidInput { field: String, reason: String },
    #[error("unknown {field} \"{id}\"")]
    NotFound { field: String, id: String },
    #[error("no {} account is connected", .0.name())]
    NotConnected(BrandId),
    #[error("{0}")]
    CredentialsRejected(String),
    #[error("{0}")]
    LockNotRemote(String),
    #[error("{0}")]
    OtherProviderAssigned(String),
    #[error("{0}")]
    ProviderUnsupported(String),
    #[error("the lock vendor is unavailable: {0}")]
    VendorUnavailable(String),
    #[error("{0}")]
    Storage(#[from] StorageError),
}

impl PluginError {
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        PluginError::InvalidInput { field: field.to_string(), reason: reason.into() }
    }

    pub fn not_found(field: &str, id: &str) -> Self {
        PluginError::NotFound { field: field.to_string(), id: id.to_string() }
    }
}

impl From<ScheduleError> for PluginError {
    fn from(e: ScheduleError) -> Self {
        match e {
            ScheduleError::Invalid { field, reason } => PluginError::invalid(field, reason),
        }
    }
}

pub type Result<T, E = PluginError> = std::result::Result<T, E>;
