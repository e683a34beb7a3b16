//! The `code-events` import (R27, R28): the plugin's code and lock events,
//! recorded in the tenant's storage ([`KvStore::record_event`](crate::KvStore::record_event)) with their
//! ids, so a repeat (the plugin reports at least once) is dropped and a
//! host reads them in order ([`KvStore::events_after`](crate::KvStore::events_after)) for its feed and
//! webhooks.

use crate::bindings::generated::pms::smartlock::code_events as wit;
use crate::SmartlockCtx;

/// Longest event id, in bytes.
pub const MAX_EVENT_ID_BYTES: usize = 512;
/// Longest event, as JSON, in bytes.
pub const MAX_EVENT_BYTES: usize = 16 * 1024;

impl wit::Host for SmartlockCtx {
    fn report(&mut self, event: wit::CodeEvent) -> wasmtime::Result<Result<(), String>> {
        if event.id.is_empty() || event.id.len() > MAX_EVENT_ID_BYTES {
            return Ok(Err(format!("event id of {} bytes is not 1 to {MAX_EVENT_ID_BYTES} bytes", event.id.len())));
        }
        let json = match serde_json::to_string(&event) {
            Ok(json) if json.len() <= MAX_EVENT_BYTES => json,
            Ok(json) => return Ok(Err(format!("event of {} bytes exceeds {MAX_EVENT_BYTES} bytes", json.len()))),
            Err(e) => return Ok(Err(format!("event not encodable: {e}"))),
        };
        let tenant = self.tenant.clone();
        let recorded = self.in_host(|_| tenant.storage.record_event(&event.id, event.at, &json));
        Ok(match recorded {
            Ok(true) => {
                tracing::debug!(tenant = %tenant.id, id = %event.id, kind = ?event.kind, "code event recorded");
                Ok(())
            }
            Ok(false) => {
                tracing::debug!(tenant = %tenant.id, id = %event.id, "code event already recorded; dropped");
                Ok(())
            }
            Err(e) => {
                tracing::warn!(tenant = %tenant.id, id = %event.id, error = %e, "code event could not be recorded");
                Err(e.to_string())
            }
        })
    }
}
