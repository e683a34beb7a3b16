//! The `email` import: queues an e-mail to the account owner in the tenant's
//! outbox (on its storage backend), stamped with the tenant's clock. At most
//! one e-mail per dedup key and tenant, ever: a repeat is accepted and dropped.

use crate::bindings::generated::pms::smartlock::email as wit;
use crate::SmartlockCtx;

/// Longest dedup key, in bytes (as a storage key).
pub const MAX_DEDUP_KEY_BYTES: usize = 512;
/// Longest subject, in bytes.
pub const MAX_SUBJECT_BYTES: usize = 1024;
/// Longest body, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

fn check(dedup_key: &str, subject: &str, body: &str) -> Result<(), String> {
    for (field, value, max) in [
        ("dedup-key", dedup_key, MAX_DEDUP_KEY_BYTES),
        ("subject", subject, MAX_SUBJECT_BYTES),
        ("body", body, MAX_BODY_BYTES),
    ] {
        if value.len() > max {
            return Err(format!("{field} of {} bytes exceeds {max} bytes", value.len()));
        }
    }
    if dedup_key.is_empty() {
        return Err("dedup-key is empty".to_owned());
    }
    Ok(())
}

impl wit::Host for SmartlockCtx {
    fn send_to_owner(
        &mut self,
        dedup_key: String,
        subject: String,
        body: String,
    ) -> wasmtime::Result<Result<(), String>> {
        if let Err(reason) = check(&dedup_key, &subject, &body) {
            return Ok(Err(reason));
        }
        let tenant = self.tenant.clone();
        let at = tenant.clock.now();
        let recorded = self.in_host(|_| tenant.storage.record_email(&dedup_key, at, &subject, &body));
        Ok(match recorded {
            Ok(true) => {
                tracing::info!(tenant = %tenant.id, dedup_key, at, "e-mail to the owner queued");
                Ok(())
            }
            Ok(false) => {
                tracing::debug!(tenant = %tenant.id, dedup_key, "e-mail already sent for this key; dropped");
                Ok(())
            }
            Err(e) => {
                tracing::warn!(tenant = %tenant.id, dedup_key, error = %e, "e-mail could not be queued");
                Err(e.to_string())
            }
        })
    }
}
