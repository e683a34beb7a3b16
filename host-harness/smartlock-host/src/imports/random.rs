//! `wasi:random/random`: the only WASI interface the plugin imports (R23),
//! for its PINs (R8). Served from the host's operating-system CSPRNG.

use crate::bindings::generated::wasi::random::random;
use crate::SmartlockCtx;

/// Bytes one call may ask for at once; a PIN needs a handful.
const MAX_RANDOM_BYTES: u64 = 64 * 1024;

impl random::Host for SmartlockCtx {
    fn get_random_bytes(&mut self, len: u64) -> wasmtime::Result<Vec<u8>> {
        if len > MAX_RANDOM_BYTES {
            return Err(wasmtime::Error::msg(format!(
                "the plugin asked for {len} random bytes (at most {MAX_RANDOM_BYTES} per call)"
            )));
        }
        let mut bytes = vec![0u8; len as usize];
        getrandom::fill(&mut bytes)
            .map_err(|e| wasmtime::Error::msg(format!("the host's random source failed: {e}")))?;
        Ok(bytes)
    }

    fn get_random_u64(&mut self) -> wasmtime::Result<u64> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes)
            .map_err(|e| wasmtime::Error::msg(format!("the host's random source failed: {e}")))?;
        Ok(u64::from_le_bytes(bytes))
    }
}
