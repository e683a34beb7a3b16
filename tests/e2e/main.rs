//! End-to-end tests: the real plugin component in the wasmtime harness,
//! against the igloohome stub over loopback HTTP, judged on the stub's
//! lock-side truth. Test names start with the SPEC rule they prove.

mod account;
mod backup;
mod changes;
mod common;
mod doors;
mod events;
mod examples;
mod failures;
mod fallback;
mod faults;
mod messages;
mod random;
mod restarts;
mod sandbox;
mod schedule;
mod time_to_code;
