//! `host-harness drive`: a scenario run that survives being killed.
//!
//! The vendor stubs run in their own process (`host-harness stub`), so the
//! lock-side truth outlives the host; the host drives the stubs' simulated
//! clock, bridges and faults over their admin API ([`RemoteStub`]). The
//! plugin's state and the driver's own progress (next step, next tick) are in
//! one SQLite file. Killed at any moment (SIGKILL) and started again with the
//! same arguments, the driver resumes where its progress says: a step or tick
//! that ran but was not recorded runs again, which the plugin must tolerate.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::imports::{KvStore, SqliteDb, Write};
use crate::scenario::{utc, Action, Driver, Scenario, VendorControl, TENANT};
use crate::stubs::{Fault, Vendor};
use crate::{Runtime, RuntimeConfig};

/// The driver's own namespace in the SQLite file.
const DRIVER_TENANT: &str = "driver";
const PROGRESS_KEY: &str = "progress";

/// The stub of another process, through its admin API.
pub struct RemoteStub {
    base: String,
    agent: ureq::Agent,
}

impl RemoteStub {
    pub fn new(base: &str) -> RemoteStub {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .build();
        RemoteStub { base: base.trim_end_matches('/').to_string(), agent: config.into() }
    }

    fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let mut resp = self
            .agent
            .post(&url)
            .header("content-type", "application/json")
            .send(body.to_string())
            .map_err(|e| format!("{url}: {e}"))?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        match status {
            200..=299 => Ok(value),
            // The clock never goes back: a resumed driver may set an instant
            // the stub has already passed.
            409 if path == "/_admin/time" => Ok(value),
            _ => Err(format!("{url}: HTTP {status} {value}")),
        }
    }

    fn get(&self, path: &str) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut resp = self.agent.get(&url).call().with_context(|| url.clone())?;
        anyhow::ensure!(resp.status().is_success(), "{url}: HTTP {}", resp.status());
        Ok(serde_json::from_str(&resp.body_mut().read_to_string()?)?)
    }

    /// The report's `pins` array, from the stub.
    pub fn pins(&self) -> anyhow::Result<Value> {
        self.get("/_admin/pins")
    }

    /// The report's `http` object, from the stub.
    pub fn http(&self) -> anyhow::Result<Value> {
        self.get("/_admin/http")
    }
}

impl VendorControl for RemoteStub {
    fn set_time(&self, now: i64) {
        if let Err(e) = self.post("/_admin/time", json!({"now": now})) {
            tracing::error!(error = %e, "could not move the stub's clock");
        }
    }
    fn set_online(&self, vendor: Vendor, id: &str, online: bool) -> Result<(), String> {
        self.post("/_admin/online", json!({"provider": vendor.as_str(), "id": id, "online": online})).map(drop)
    }
    fn inject_fault(&self, vendor: Vendor, fault: &Fault) -> Result<(), String> {
        let body = json!({
            "provider": vendor.as_str(), "endpoint": fault.endpoint, "status": fault.status,
            "count": fault.count, "kind": fault.kind, "errcode": fault.errcode,
        });
        self.post("/_admin/fault", body).map(drop)
    }
    fn revoke_tokens(&self, vendor: Vendor) -> Result<(), String> {
        self.post("/_admin/revoke-tokens", json!({"provider": vendor.as_str()})).map(drop)
    }
    fn try_pin(&self, vendor: Vendor, lock: &str, pin: &str) -> Result<bool, String> {
        let answer = self.post("/_admin/try-pin", json!({"provider": vendor.as_str(), "lock": lock, "pin": pin}))?;
        answer["opens"].as_bool().ok_or_else(|| format!("the stub's try-pin answer has no `opens`: {answer}"))
    }
}

/// Where a driver is in its scenario.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Progress {
    /// Steps before this index are done.
    next_step: usize,
    /// The next tick instant (`None`: the scenario's start).
    next_tick: Option<i64>,
}

fn save(store: &dyn KvStore, progress: Progress) {
    let bytes = serde_json::to_vec(&progress).unwrap_or_default();
    if let Err(e) = store.apply(&[Write::Set { key: PROGRESS_KEY.into(), value: bytes }]) {
        tracing::error!(error = %e, "could not save the driver's progress");
    }
}

/// The line [`run`] prints on stderr (whatever `RUST_LOG` says) once the
/// plugin is loaded and the driver is about to run its first step or tick,
/// followed by the progress it resumes from as JSON.
pub const DRIVING_LINE: &str = "smartlock-drive: driving";
/// The line [`run`] prints on stderr once the last step ran, before it
/// reads the report, followed by the progress as JSON.
pub const DRIVEN_LINE: &str = "smartlock-drive: driven";

/// Runs (or resumes) `scenario` against the stub at `stub_url`, then prints
/// the report (`pins` and `http` from the stub, `emails` from the outbox).
/// [`DRIVING_LINE`] and [`DRIVEN_LINE`] on stderr bracket the steps and
/// ticks: a process killed in between was killed during the scenario, not
/// while it started (the crash test counts those kills).
pub fn run(scenario: &Scenario, stub_url: &str, db_path: &Path, config: RuntimeConfig) -> anyhow::Result<()> {
    let db = SqliteDb::open(db_path).with_context(|| format!("opening {}", db_path.display()))?;
    let progress_store = db.tenant(DRIVER_TENANT);
    let mut progress: Progress = match progress_store.get(PROGRESS_KEY)? {
        Some(bytes) => serde_json::from_slice(&bytes).context("reading the driver's progress")?,
        None => Progress::default(),
    };
    let runtime = Runtime::new(config).context("loading the plugin")?;
    let vendor = Arc::new(RemoteStub::new(stub_url));
    let storage: Arc<dyn KvStore> = Arc::new(db.tenant(TENANT));
    let start = scenario.start.timestamp();
    let mut driver = Driver::new(&runtime, vendor.clone(), stub_url, storage.clone(), start, scenario.tick_minutes)?;
    driver.wake_ups = scenario.wake_ups;
    driver.ttlock_app = scenario.ttlock.as_ref().map(|t| (t.app.client_id.clone(), t.app.client_secret.clone()));
    driver.next_tick = progress.next_tick.unwrap_or(start);
    // The PMS's records of its properties, as the steps done so far left them.
    for step in &scenario.steps[..progress.next_step.min(scenario.steps.len())] {
        if let Action::Property { property } = &step.action {
            driver.remember_property(property);
        }
    }
    tracing::info!(next_step = progress.next_step, next_tick = %utc(driver.next_tick), "driving");
    let say = |line: &str, progress: Progress| {
        eprintln!("{line} {}", serde_json::to_string(&progress).unwrap_or_default());
    };
    say(DRIVING_LINE, progress);

    for (index, step) in scenario.steps.iter().enumerate().skip(progress.next_step) {
        driver.advance_with(step.at.timestamp(), |next_tick| {
            progress.next_tick = Some(next_tick);
            save(&progress_store, progress);
        });
        if let Action::End {} = step.action {
            break;
        }
        if let Err(e) = driver.apply(&step.action) {
            tracing::info!(step = index + 1, kind = step.action.name(), error = %e, "step refused");
        }
        progress.next_step = index + 1;
        save(&progress_store, progress);
    }
    say(DRIVEN_LINE, progress);
    let report = json!({
        "scenario": scenario.name,
        "pins": vendor.pins()?,
        "emails": storage.emails()?.iter().map(|e| json!({
            "at": utc(e.at), "to": "owner", "subject": e.subject, "body": e.body,
        })).collect::<Vec<_>>(),
        "http": vendor.http()?,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
