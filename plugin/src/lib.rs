//! Smart-lock access codes for PMS bookings.
//!
//! The domain logic is plain Rust over the [`host::Host`] traits; the
//! `component` module (wasm32 only) binds it to the WIT world
//! `pms:smartlock/smartlock-plugin`, and [`memory_host`] runs it natively
//! for unit tests and the harness's native benchmark.

pub mod admin;
pub mod alert;
pub mod brands;
pub mod cache;
pub mod error;
pub mod events;
pub mod health;
pub mod host;
pub mod keys;
pub mod lifecycle;
pub mod memory_host;
pub mod model;
pub mod notify;
pub mod pin;
pub mod pool;
pub mod render;
pub mod schedule;
pub mod status;
pub mod store;
pub mod text;
pub mod tick;
pub mod wake;

#[cfg(target_arch = "wasm32")]
mod component;

pub use error::{PluginError, Result};
