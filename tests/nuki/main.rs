//! End-to-end tests against the Nuki stub (being written).

#[allow(dead_code)]
#[path = "../e2e/common.rs"]
mod common;
