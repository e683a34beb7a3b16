//! The `scheduler` import: the plugin's wake-up requests (R21), recorded in
//! the runtime's [`crate::WakeUps`] under the tenant's id.

use crate::bindings::generated::pms::smartlock::scheduler;
use crate::SmartlockCtx;

impl scheduler::Host for SmartlockCtx {
    fn wake_at(&mut self, at: Option<i64>) -> wasmtime::Result<()> {
        tracing::trace!(tenant = %self.tenant.id, ?at, "plugin wake-up");
        self.wake_ups.set(&self.tenant.id, at);
        Ok(())
    }
}
