//! End-to-end tests against the Nuki stub: the real plugin component in the
//! wasmtime harness, judged on the stub's lock-side truth. Test names start
//! with the SPEC rule they prove; `faults_nuki_…` are Nuki's field
//! failures; `brands` puts igloohome and Nuki on one account. `rules`,
//! `schedule`, `lifecycle` and `messages` hold the rule tests.

mod brands;
#[allow(dead_code)]
#[path = "../e2e/common.rs"]
mod common;
mod example;
mod faults;
mod lifecycle;
mod messages;
mod rules;
mod schedule;
#[allow(dead_code)]
mod setup;
