//! End-to-end tests against the TTLock stub, and the three brands together:
//! the real plugin component in the wasmtime harness, judged on the stubs'
//! lock-side truth. Test names start with the SPEC rule they prove.

#[allow(dead_code)]
#[path = "../e2e/common.rs"]
mod common;

mod account;
mod brands;
mod changes;
mod examples;
mod fallback;
mod faults;
mod late;
mod lifecycle;
mod messages;
mod schedule;
mod secrets;
#[allow(dead_code)]
mod tt;
