//! End-to-end tests against the Seam stub (R29): the real plugin component
//! in the wasmtime harness, judged on the stub's lock-side truth (what
//! reached each device and whether a PIN opens it). Test names start with
//! the SPEC rule they prove.

#[allow(dead_code)]
#[path = "../e2e/common.rs"]
mod common;
#[allow(dead_code)]
#[path = "../ttlock/tt.rs"]
mod tt;

mod account;
mod example;
mod failures;
mod lifecycle;
mod pins;
#[allow(dead_code)]
mod sm;
