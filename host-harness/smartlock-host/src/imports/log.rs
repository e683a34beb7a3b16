//! The `log` import: plugin log lines go to `tracing` with target `plugin`
//! and the tenant's id. Lines are capped in length and in number per call.

use super::truncate;
use crate::bindings::generated::pms::smartlock::log as wit;
use crate::SmartlockCtx;

/// Longest plugin log message kept, in bytes.
const MAX_MESSAGE_BYTES: usize = 8 * 1024;

impl wit::Host for SmartlockCtx {
    fn log(&mut self, level: wit::Level, message: String) -> wasmtime::Result<()> {
        if matches!(level, wit::Level::Error) {
            // Kept even past the line budget: a panic's message, logged just
            // before the trap, describes the failed call.
            self.last_error_log = Some(truncate(&message, MAX_MESSAGE_BYTES).to_owned());
        }
        if !self.take_log_line() {
            return Ok(());
        }
        let tenant = self.tenant.id.as_str();
        let message = truncate(&message, MAX_MESSAGE_BYTES);
        match level {
            wit::Level::Trace => tracing::trace!(target: "plugin", tenant, "{message}"),
            wit::Level::Debug => tracing::debug!(target: "plugin", tenant, "{message}"),
            wit::Level::Info => tracing::info!(target: "plugin", tenant, "{message}"),
            wit::Level::Warn => tracing::warn!(target: "plugin", tenant, "{message}"),
            wit::Level::Error => tracing::error!(target: "plugin", tenant, "{message}"),
        }
        Ok(())
    }
}
