//! Scenario files and reports (`docs/scenarios.md`, a public interface):
//! replays a timeline on a simulated clock against the igloohome stub with
//! the real plugin component, and reports what really happened on the locks.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::imports::{Clock, KvStore, SimClock, SqliteDb, Tenant, UreqBackend, UreqConfig};
use crate::stub_routes;
use crate::stubs::igloohome::StubConfig;
use crate::stubs::nuki::NukiConfig;
use crate::stubs::ttlock::TtlockConfig;
use crate::stubs::{Fault, HttpCounts, PinRecord, StubServer, Vendor, World, WorldConfig};
use crate::template;
use crate::{api, CallError, Runtime, TenantHandle};

/// The tenant id scenarios run as.
/// The storage namespace of a scenario's tenant.
pub const TENANT: &str = "scenario";
/// HTTP timeout towards the stub.
const STUB_HTTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// Extra `on-tick` calls at one instant while the plugin says more is due.
const MAX_TICK_REPEATS: u32 = 20;

/// A scenario file that cannot be run (the CLI's exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidScenario(pub String);

#[derive(Debug, Clone, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub start: DateTime<Utc>,
    #[serde(default = "default_tick_minutes")]
    pub tick_minutes: u32,
    /// Whether the harness also ticks when the plugin asks to be woken
    /// (R21); `false` models a host with only its regular tick.
    #[serde(default = "default_wake_ups")]
    pub wake_ups: bool,
    /// The vendors' worlds; each is optional (docs/scenarios.md).
    #[serde(default)]
    pub igloohome: Option<StubConfig>,
    #[serde(default)]
    pub nuki: Option<NukiConfig>,
    #[serde(default)]
    pub ttlock: Option<TtlockConfig>,
    #[serde(default)]
    pub seam: Option<crate::stubs::seam::SeamConfig>,
    pub steps: Vec<Step>,
}

fn default_tick_minutes() -> u32 {
    15
}

fn default_wake_ups() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub action: Action,
}

/// A lock vendor as scenario files spell it (`provider`, default igloohome).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderIn {
    #[default]
    Igloohome,
    Nuki,
    Ttlock,
    Seam,
}

impl ProviderIn {
    const ALL: [ProviderIn; 4] = [ProviderIn::Igloohome, ProviderIn::Nuki, ProviderIn::Ttlock, ProviderIn::Seam];

    pub fn vendor(self) -> Vendor {
        match self {
            ProviderIn::Igloohome => Vendor::Igloohome,
            ProviderIn::Nuki => Vendor::Nuki,
            ProviderIn::Ttlock => Vendor::Ttlock,
            ProviderIn::Seam => Vendor::Seam,
        }
    }

    /// The brand id the contract names it by (R30).
    pub fn api(self) -> &'static str {
        self.name()
    }

    /// The provider a report names (`PinRecord::provider`).
    pub fn of(name: &str) -> Option<ProviderIn> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    pub fn name(self) -> &'static str {
        self.vendor().as_str()
    }

    /// The credential fields a `connect` step of this provider must give
    /// (the others, like TTLock's application, the harness adds as a host).
    fn typed_fields(self) -> &'static [&'static str] {
        match self {
            ProviderIn::Igloohome => &["client_id", "client_secret"],
            ProviderIn::Nuki => &["api_token"],
            ProviderIn::Ttlock => &["username", "password"],
            ProviderIn::Seam => &["api_key"],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Action {
    /// igloohome: `client_id`, `client_secret`; Nuki: `api_token`; TTLock:
    /// `username`, `password` (the harness adds the world's `app`).
    Connect {
        #[serde(default)]
        provider: ProviderIn,
        client_id: Option<String>,
        client_secret: Option<String>,
        api_token: Option<String>,
        username: Option<String>,
        password: Option<String>,
        api_key: Option<String>,
    },
    Disconnect {
        #[serde(default)]
        provider: ProviderIn,
    },
    Property {
        property: PropertyIn,
    },
    Assign {
        property: String,
        lock: String,
        #[serde(default)]
        provider: ProviderIn,
        days_before: Option<i64>,
        margin_minutes: Option<i64>,
        /// Spare codes kept on the lock (R25), 0 to 5.
        backup_codes: Option<i64>,
    },
    Unassign {
        property: String,
    },
    /// Adds a shared door to the property (R26).
    ShareDoor {
        property: String,
        lock: String,
        #[serde(default)]
        provider: ProviderIn,
    },
    /// Removes a shared door from the property (R26, R17).
    UnshareDoor {
        property: String,
        lock: String,
        #[serde(default)]
        provider: ProviderIn,
    },
    Booking {
        booking: BookingIn,
    },
    /// An igloohome bridge, a TTLock gateway, or a Nuki lock's own link.
    Bridge {
        bridge: String,
        online: bool,
        #[serde(default)]
        provider: ProviderIn,
    },
    /// `kind` (optional, an extension): "status" (default), "malformed" or
    /// "truncated" (a 2xx whose body is spoiled); `errcode` (TTLock): HTTP
    /// 200 with that error body.
    Fault {
        endpoint: String,
        #[serde(default)]
        status: u16,
        count: u32,
        #[serde(default)]
        provider: ProviderIn,
        #[serde(default)]
        kind: Option<String>,
        #[serde(default)]
        errcode: Option<i64>,
    },
    /// Extension: every issued token of the vendor stops working at once.
    RevokeTokens {
        #[serde(default)]
        provider: ProviderIn,
    },
    Render {
        booking: String,
        template: String,
    },
    Status {
        booking: String,
    },
    /// Whether a PIN opens the lock now, as a guest typing it finds out:
    /// `pin`, or with `booking` every 4- to 12-digit number of the last
    /// message rendered for that booking (or of `{{smartlock_code}}` now).
    TryPin {
        lock: String,
        #[serde(default)]
        provider: ProviderIn,
        pin: Option<String>,
        booking: Option<String>,
    },
    Restart {},
    End {},
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Connect { .. } => "connect",
            Action::Disconnect { .. } => "disconnect",
            Action::Property { .. } => "property",
            Action::Assign { .. } => "assign",
            Action::Unassign { .. } => "unassign",
            Action::ShareDoor { .. } => "share_door",
            Action::UnshareDoor { .. } => "unshare_door",
            Action::Booking { .. } => "booking",
            Action::Bridge { .. } => "bridge",
            Action::Fault { .. } => "fault",
            Action::RevokeTokens { .. } => "revoke_tokens",
            Action::Render { .. } => "render",
            Action::Status { .. } => "status",
            Action::TryPin { .. } => "try_pin",
            Action::Restart {} => "restart",
            Action::End {} => "end",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct PropertyIn {
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub check_in_time: Option<String>,
    pub check_out_time: Option<String>,
}

impl PropertyIn {
    fn to_api(&self) -> api::Property {
        api::Property {
            id: self.id.clone(),
            name: self.name.clone(),
            timezone: self.timezone.clone(),
            check_in_time: self.check_in_time.clone(),
            check_out_time: self.check_out_time.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct BookingIn {
    pub id: String,
    pub property: String,
    pub guest_name: Option<String>,
    pub check_in: String,
    pub check_out: String,
    pub check_in_time: Option<String>,
    pub check_out_time: Option<String>,
    pub status: StatusIn,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusIn {
    Confirmed,
    Cancelled,
}

impl Scenario {
    /// The vendors' worlds of the file.
    pub fn world(&self) -> WorldConfig {
        WorldConfig {
            start: Some(self.start),
            igloohome: self.igloohome.clone(),
            nuki: self.nuki.clone(),
            ttlock: self.ttlock.clone(),
            seam: self.seam.clone(),
        }
    }

    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, InvalidScenario> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| InvalidScenario(format!("cannot read {}: {e}", path.display())))?;
        Scenario::parse(&text).map_err(|InvalidScenario(m)| InvalidScenario(format!("{}: {m}", path.display())))
    }

    pub fn parse(text: &str) -> Result<Scenario, InvalidScenario> {
        let scenario: Scenario = serde_json::from_str(text)
            .map_err(|e| InvalidScenario(step_error(text).unwrap_or_else(|| format!("invalid scenario: {e}"))))?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// The time zone of the property each lock was last assigned to, from
    /// the file's `property` and `assign` steps (to show local times).
    pub fn lock_zones(&self) -> HashMap<(ProviderIn, String), chrono_tz::Tz> {
        let mut zones: HashMap<String, chrono_tz::Tz> = HashMap::new();
        let mut locks = HashMap::new();
        for step in &self.steps {
            match &step.action {
                Action::Property { property } => {
                    if let Ok(tz) = property.timezone.parse() {
                        zones.insert(property.id.clone(), tz);
                    }
                }
                Action::Assign { property, lock, provider, .. } | Action::ShareDoor { property, lock, provider } => {
                    if let Some(tz) = zones.get(property) {
                        locks.insert((*provider, lock.clone()), *tz);
                    }
                }
                _ => {}
            }
        }
        locks
    }

    fn validate(&self) -> Result<(), InvalidScenario> {
        let bad = |m: String| Err(InvalidScenario(m));
        if self.tick_minutes == 0 || self.tick_minutes > 24 * 60 {
            return bad("tick_minutes must be between 1 and 1440".into());
        }
        self.world().validate().map_err(|e| InvalidScenario(e.to_string()))?;
        let mut previous = self.start;
        for (i, step) in self.steps.iter().enumerate() {
            if step.at < previous {
                return bad(format!(
                    "step {} ({}) at {} is before the previous step or the start",
                    i + 1,
                    step.action.name(),
                    step.at.to_rfc3339()
                ));
            }
            previous = step.at;
            let last = i + 1 == self.steps.len();
            match (&step.action, last) {
                (Action::End {}, false) => return bad(format!("step {}: `end` must be the last step", i + 1)),
                (Action::Fault { provider, endpoint, status, count, kind, errcode }, _) => {
                    // Checked against a scratch world, so a bad fault is refused before the run.
                    let fault = Fault {
                        endpoint: endpoint.clone(),
                        status: *status,
                        count: *count,
                        kind: kind.clone(),
                        errcode: *errcode,
                    };
                    World::new(self.world(), self.start.timestamp())
                        .inject_fault(provider.vendor(), &fault)
                        .map_err(|e| InvalidScenario(format!("step {}: {e}", i + 1)))?;
                }
                (connect @ Action::Connect { provider, .. }, _) => {
                    let given = connect.credentials();
                    let missing = provider.typed_fields().iter().find(|f| !given.iter().any(|(k, _)| k == *f));
                    if let Some(field) = missing {
                        return bad(format!("step {} (connect {}): `{field}` is missing", i + 1, provider.name()));
                    }
                }
                _ => {}
            }
        }
        match self.steps.last() {
            Some(Step { action: Action::End {}, .. }) => Ok(()),
            _ => bad("the last step must be `end`".into()),
        }
    }
}

/// The first step of `text` that does not read as a step, named with its
/// number and kind: serde's own message for the whole file points at a line
/// and column only.
fn step_error(text: &str) -> Option<String> {
    let value: Value = serde_json::from_str(text).ok()?;
    let steps = value.get("steps")?.as_array()?;
    steps.iter().enumerate().find_map(|(i, step)| {
        let e = serde_json::from_value::<Step>(step.clone()).err()?;
        let kind = step.get("do").and_then(Value::as_str).unwrap_or("without `do`");
        Some(format!("step {} ({kind}): {e}", i + 1))
    })
}

/// What happened, as docs/scenarios.md specifies (see [`Report::to_json`]).
#[derive(Debug, Clone)]
pub struct Report {
    pub scenario: String,
    pub steps: Vec<StepReport>,
    /// The stub's lock-side truth.
    pub pins: Vec<PinRecord>,
    pub emails: Vec<crate::imports::Email>,
    /// The code events the plugin reported (R27), as recorded, in order.
    pub events: Vec<Value>,
    pub http: HttpCounts,
    /// Ticks run, those whose call failed, and those that were wake-ups the
    /// plugin asked for (the report's optional `ticks`).
    pub ticks: u64,
    pub tick_failures: u64,
    pub wake_ticks: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub at: String,
    #[serde(rename = "do")]
    pub kind: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Report {
    pub fn to_json(&self) -> Value {
        json!({
            "scenario": self.scenario,
            "steps": self.steps,
            "pins": self.pins.iter().map(|p| json!({
                "provider": p.provider,
                "lock": p.lock,
                "pin": p.pin,
                "access_name": p.access_name,
                "start": utc(p.start),
                "end": utc(p.end),
                "added_at": utc(p.added_at),
                "removed_at": p.removed_at.map(utc),
                "kind": p.kind.as_str(),
            })).collect::<Vec<_>>(),
            "emails": self.emails.iter().map(|e| json!({
                "at": utc(e.at),
                "to": "owner",
                "subject": e.subject,
                "body": e.body,
            })).collect::<Vec<_>>(),
            "events": self.events,
            "http": {"requests": self.http.requests, "by_endpoint": self.http.by_endpoint},
            "ticks": {"count": self.ticks, "failed": self.tick_failures, "wake_ups": self.wake_ticks},
        })
    }

    /// PINs ever put on `lock`.
    pub fn pins_on(&self, lock: &str) -> Vec<&PinRecord> {
        self.pins.iter().filter(|p| p.lock == lock).collect()
    }

    pub fn step(&self, kind: &str) -> Vec<&StepReport> {
        self.steps.iter().filter(|s| s.kind == kind).collect()
    }

    /// Whether every step succeeded.
    pub fn all_ok(&self) -> bool {
        self.steps.iter().all(|s| s.ok)
    }

    /// A short account for a person: the steps that failed (numbered as in
    /// the file), each code with its lock, its window in the property's
    /// time zone and when it reached and left the lock, the e-mails, the
    /// vendor requests. PINs are masked unless `show_pins`.
    pub fn summary(&self, zones: &HashMap<(ProviderIn, String), chrono_tz::Tz>, show_pins: bool) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let failed: Vec<(usize, &StepReport)> = self.steps.iter().enumerate().filter(|(_, s)| !s.ok).collect();
        let _ = writeln!(out, "scenario \"{}\": {} steps, {} failed", self.scenario, self.steps.len(), failed.len());
        for (i, step) in &failed {
            let _ = writeln!(
                out,
                "  step {} ({}) at {} failed: {}",
                i + 1,
                step.kind,
                step.at,
                step.error.as_deref().unwrap_or("no reason given")
            );
        }
        let _ = writeln!(out, "codes on the locks: {}", self.pins.len());
        for p in &self.pins {
            let provider = ProviderIn::of(p.provider);
            let tz = provider.and_then(|v| zones.get(&(v, p.lock.clone())).copied());
            let local = |t: i64| local_time(t, tz);
            let pin = if show_pins { p.pin.clone() } else { "******".to_string() };
            let removed = p.removed_at.map_or("still on the lock".to_string(), |t| format!("removed {}", local(t)));
            let _ = writeln!(
                out,
                "  {} lock {}: PIN {pin}, valid {} to {}{}; on the lock {}, {removed}",
                p.provider,
                p.lock,
                local(p.start),
                local(p.end),
                tz.map_or(" (UTC)".to_string(), |z| format!(" ({z})")),
                local(p.added_at),
            );
        }
        let _ = writeln!(out, "e-mails to the owner: {}", self.emails.len());
        for e in &self.emails {
            let _ = writeln!(out, "  {}: {}", utc(e.at), e.subject);
        }
        let endpoints: Vec<String> = self.http.by_endpoint.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(out, "vendor requests: {} ({})", self.http.requests, endpoints.join(", "));
        let _ = write!(out, "ticks: {} ({} at wake-ups, {} failed)", self.ticks, self.wake_ticks, self.tick_failures);
        out
    }
}

/// `t` in `tz` (or UTC) as "Sun 15 Mar 2026 14:30".
fn local_time(t: i64, tz: Option<chrono_tz::Tz>) -> String {
    let Some(utc_time) = DateTime::<Utc>::from_timestamp(t, 0) else { return t.to_string() };
    match tz {
        Some(tz) => utc_time.with_timezone(&tz).format("%a %-d %b %Y %H:%M").to_string(),
        None => utc_time.format("%a %-d %b %Y %H:%M").to_string(),
    }
}

/// RFC 3339 UTC with seconds, "2026-03-20T14:30:00Z".
pub fn utc(t: i64) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| t.to_string())
}

/// How a run is set up.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// A loaded plugin to share between runs (tests); `None` loads one.
    pub runtime: Option<Runtime>,
}

/// A step's result, or its error as a plain sentence.
pub type StepOutcome = Result<Value, String>;

/// Runs a scenario to its `end` step.
pub fn run(scenario: &Scenario, options: &RunOptions) -> anyhow::Result<Report> {
    let runtime = match &options.runtime {
        Some(r) => r.clone(),
        None => Runtime::new(crate::default_runtime_config()).context("loading the plugin")?,
    };
    let mut harness = Harness::start(&runtime, scenario.world(), scenario.start.timestamp(), scenario.tick_minutes)?;
    harness.wake_ups = scenario.wake_ups;
    let mut steps = Vec::new();
    for step in &scenario.steps {
        harness.advance_to(step.at.timestamp());
        if let Action::End {} = step.action {
            break;
        }
        let outcome = harness.apply(&step.action);
        steps.push(StepReport {
            at: utc(step.at.timestamp()),
            kind: step.action.name().to_string(),
            ok: outcome.is_ok(),
            error: outcome.as_ref().err().cloned(),
            result: outcome.ok(),
        });
    }
    harness.report(&scenario.name, steps)
}

/// What a scenario does to the vendors' world besides the plugin's own
/// requests: the clock, bridges and gateways, faults, tokens. The in-process
/// [`World`] does it directly; [`crate::drive::RemoteStub`] through the
/// stub's admin API when the stub runs in another process.
pub trait VendorControl: Send + Sync {
    fn set_time(&self, now: i64);
    /// An igloohome bridge, a TTLock gateway, or a Nuki lock's own link.
    fn set_online(&self, vendor: Vendor, id: &str, online: bool) -> Result<(), String>;
    fn inject_fault(&self, vendor: Vendor, fault: &Fault) -> Result<(), String>;
    fn revoke_tokens(&self, vendor: Vendor) -> Result<(), String>;
    /// Whether `pin` opens `lock` now (the stub's lock-side truth; a PIN
    /// that opens counts as typed).
    fn try_pin(&self, vendor: Vendor, lock: &str, pin: &str) -> Result<bool, String>;
}

impl VendorControl for World {
    fn set_time(&self, now: i64) {
        World::set_time(self, now);
    }
    fn set_online(&self, vendor: Vendor, id: &str, online: bool) -> Result<(), String> {
        World::set_online(self, vendor, id, online).map_err(|e| e.to_string())
    }
    fn inject_fault(&self, vendor: Vendor, fault: &Fault) -> Result<(), String> {
        World::inject_fault(self, vendor, fault).map_err(|e| e.to_string())
    }
    fn revoke_tokens(&self, vendor: Vendor) -> Result<(), String> {
        World::revoke_tokens(self, vendor).map(drop).map_err(|e| e.to_string())
    }

    fn try_pin(&self, vendor: Vendor, lock: &str, pin: &str) -> Result<bool, String> {
        World::try_pin(self, vendor, lock, pin).map_err(|e| e.to_string())
    }
}

/// The scenario machinery without a file: the plugin in the runtime, the
/// stub on loopback, SQLite storage and a simulated clock, driven step by
/// step. Tests use it directly to look at storage or the stub mid-run; it
/// dereferences to its [`Driver`].
pub struct Harness {
    driver: Driver,
    /// The vendors' stubs: their clocks, faults and lock-side truth.
    pub world: World,
    // Dropped last: the stub server and the storage folder.
    _server: StubServer<World>,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Harness {
    type Target = Driver;
    fn deref(&self) -> &Driver {
        &self.driver
    }
}

impl std::ops::DerefMut for Harness {
    fn deref_mut(&mut self) -> &mut Driver {
        &mut self.driver
    }
}

impl Harness {
    /// A world at `start` (unix seconds) with `on-tick` every `tick_minutes`.
    pub fn start(runtime: &Runtime, world: WorldConfig, start: i64, tick_minutes: u32) -> anyhow::Result<Harness> {
        let ttlock_app = world.ttlock.as_ref().map(|t| (t.app.client_id.clone(), t.app.client_secret.clone()));
        let stub = World::new(world, start);
        let server = StubServer::start(stub.clone()).context("starting the vendor stubs")?;
        let dir = tempfile::tempdir().context("creating the scenario's storage folder")?;
        let db = SqliteDb::open(dir.path().join("harness.sqlite")).context("opening the scenario's storage")?;
        let driver = Driver::new(
            runtime,
            Arc::new(stub.clone()),
            &server.base_url(),
            Arc::new(db.tenant(TENANT)),
            start,
            tick_minutes,
        )?;
        let mut driver = driver;
        driver.ttlock_app = ttlock_app;
        Ok(Harness { driver, world: stub, _server: server, _dir: dir })
    }

    /// The report of everything so far.
    pub fn report(&self, name: &str, steps: Vec<StepReport>) -> anyhow::Result<Report> {
        Ok(Report {
            scenario: name.to_string(),
            steps,
            pins: self.world.pins(),
            emails: self.storage.emails().context("reading the outbox")?,
            events: report_events(self.storage.as_ref())?,
            http: self.world.http_counts(),
            ticks: self.ticks,
            tick_failures: self.tick_failures,
            wake_ticks: self.wake_ticks,
        })
    }
}

/// Every recorded code event, as the report's `events` spells them (SCENARIOS:
/// `{"id", "at", "state", "booking"?, "property"?, "provider"?, "lock"?, "door"?, "at_risk"?, "detail"}`).
pub fn report_events(storage: &dyn KvStore) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = storage.events_after(after, 500).context("reading the code events")?;
        let Some(last) = page.last() else { return Ok(out) };
        after = last.seq;
        for stored in &page {
            let e: api::CodeEvent = serde_json::from_str(&stored.json).context("a recorded code event")?;
            out.push(event_json(&e));
        }
    }
}

/// One code event as reports, feeds and webhooks spell it: snake-case
/// states, the booking/property/lock only where the event has them.
pub fn event_json(e: &api::CodeEvent) -> Value {
    let state = match e.kind {
        api::EventKind::Scheduled => "scheduled",
        api::EventKind::Writing => "writing",
        api::EventKind::OnLock => "on_lock",
        api::EventKind::Moved => "moved",
        api::EventKind::Retrying => "retrying",
        api::EventKind::Failed => "failed",
        api::EventKind::Fallback => "fallback",
        api::EventKind::AlertSent => "alert_sent",
        api::EventKind::Deleted => "deleted",
        api::EventKind::LockUnreachable => "lock_unreachable",
        api::EventKind::LockReachable => "lock_reachable",
    };
    let mut out = serde_json::Map::new();
    out.insert("id".into(), json!(e.id));
    out.insert("at".into(), json!(utc(e.at)));
    out.insert("state".into(), json!(state));
    for (key, value) in
        [("booking", &e.booking_id), ("property", &e.property_id), ("provider", &e.brand), ("lock", &e.lock_id)]
    {
        if let Some(v) = value {
            out.insert(key.into(), json!(v));
        }
    }
    // A shared door's events name the door (R26); the property's own lock has none.
    if let Some(door) = &e.door {
        out.insert("door".into(), json!(door));
    }
    if let Some(n) = e.at_risk {
        out.insert("at_risk".into(), json!(n));
    }
    out.insert("detail".into(), json!(e.detail));
    Value::Object(out)
}

/// Drives the plugin through a timeline: ticks on the simulated clock, and
/// steps applied as the PMS host would.
pub struct Driver {
    pub plugin: TenantHandle,
    pub storage: Arc<dyn KvStore>,
    pub clock: Arc<SimClock>,
    vendor: Arc<dyn VendorControl>,
    runtime_config: crate::runtime::RuntimeConfig,
    tenant: Tenant,
    /// The host's own TTLock application (client id, secret), added to a
    /// TTLock connect as a PMS would.
    pub ttlock_app: Option<(String, String)>,
    /// Kept to come back from a `restart` without compiling again.
    precompiled: Vec<u8>,
    /// The last message rendered per booking: what the guest holds.
    messages: HashMap<String, String>,
    /// The PMS's own record of its properties, sent along with bookings.
    properties: HashMap<String, api::Property>,
    tick_secs: i64,
    /// The next regular `on-tick`.
    pub next_tick: i64,
    /// Whether the plugin's wake-ups are honoured (R21).
    pub wake_ups: bool,
    pub ticks: u64,
    pub tick_failures: u64,
    /// Ticks run because the plugin asked for them.
    pub wake_ticks: u64,
    /// The instant of the last tick, and whether a step ran since: a wake-up
    /// at an instant already ticked is honoured only after a step (a plugin
    /// that cannot make progress must not be ticked in a loop).
    last_tick_at: Option<i64>,
    stepped: bool,
}

impl Driver {
    /// A driver whose plugin reaches the vendor at `vendor_base` (both
    /// igloohome hosts routed there) and keeps its state in `storage`.
    pub fn new(
        runtime: &Runtime,
        vendor: Arc<dyn VendorControl>,
        vendor_base: &str,
        storage: Arc<dyn KvStore>,
        start: i64,
        tick_minutes: u32,
    ) -> anyhow::Result<Driver> {
        let clock = Arc::new(SimClock::new(start));
        // The stub is on loopback and answers at once: a short timeout keeps
        // hang faults from stalling a run.
        let http = UreqBackend::new(UreqConfig { timeout: STUB_HTTP_TIMEOUT, ..UreqConfig::default() });
        // A tenant id of its own: drivers sharing one runtime (tests in
        // parallel) must not share a turn or a wake-up.
        static DRIVERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = DRIVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tenant = Tenant::new(format!("{TENANT}-{n}"), storage.clone())
            .with_http(Arc::new(http))
            .with_clock(clock.clone())
            .with_routes(stub_routes(runtime, vendor_base)?);
        Ok(Driver {
            plugin: runtime.tenant(tenant.clone()),
            runtime_config: runtime.config().clone(),
            precompiled: runtime.serialize()?,
            tenant,
            vendor,
            storage,
            clock,
            properties: HashMap::new(),
            messages: HashMap::new(),
            tick_secs: i64::from(tick_minutes.max(1)) * 60,
            next_tick: start,
            wake_ups: true,
            ttlock_app: None,
            ticks: 0,
            tick_failures: 0,
            wake_ticks: 0,
            last_tick_at: None,
            stepped: false,
        })
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Moves the clock to `t`, running every tick due on the way (a tick at
    /// `t` itself included: ticks run before a step at the same instant).
    pub fn advance_to(&mut self, t: i64) {
        self.advance_with(t, |_| {});
    }

    /// [`Driver::advance_to`], calling `after_tick` with the next regular
    /// tick's instant after each tick (the crash-test driver saves its
    /// progress). Besides the regular ticks it ticks at the plugin's wake-ups
    /// (R21), unless [`Driver::wake_ups`] is off.
    pub fn advance_with(&mut self, t: i64, mut after_tick: impl FnMut(i64)) {
        loop {
            let wake = self.wake_up().filter(|&w| w < self.next_tick);
            let at = wake.unwrap_or(self.next_tick);
            if at > t {
                break;
            }
            self.tick(at);
            match wake {
                Some(_) => self.wake_ticks += 1,
                None => self.next_tick += self.tick_secs,
            }
            after_tick(self.next_tick);
        }
        self.set_time(t.max(self.clock.now()));
    }

    /// The instant the plugin asked to be ticked at, if it is to be honoured
    /// now: not in the past of the clock, and not an instant already ticked
    /// unless a step ran since.
    fn wake_up(&self) -> Option<i64> {
        if !self.wake_ups {
            return None;
        }
        let at = self.plugin.wake_up()?.max(self.clock.now());
        match self.last_tick_at {
            Some(last) if at <= last && !self.stepped => None,
            _ => Some(at),
        }
    }

    /// Records a property as the PMS knows it, without telling the plugin
    /// (a driver resuming after a crash rebuilds the PMS's own records).
    pub fn remember_property(&mut self, property: &PropertyIn) {
        let prop = property.to_api();
        self.properties.insert(prop.id.clone(), prop);
    }

    fn set_time(&self, t: i64) {
        crate::simulated_log_clock::set(t);
        self.clock.set(t);
        self.vendor.set_time(t);
    }

    fn tick(&mut self, t: i64) {
        self.set_time(t);
        self.last_tick_at = Some(t);
        self.stepped = false;
        for _ in 0..MAX_TICK_REPEATS {
            self.ticks += 1;
            match self.plugin.on_tick(t) {
                Ok(Ok(summary)) if summary.more_due => continue,
                Ok(Ok(_)) => return,
                Ok(Err(e)) => {
                    tracing::warn!(at = %utc(t), error = %error_sentence(&e), "tick failed");
                    self.tick_failures += 1;
                    return;
                }
                Err(e) => {
                    tracing::warn!(at = %utc(t), error = %e, "tick trapped");
                    self.tick_failures += 1;
                    return;
                }
            }
        }
    }

    /// Applies one step at the current time.
    pub fn apply(&mut self, action: &Action) -> StepOutcome {
        self.stepped = true;
        let p = &self.plugin;
        match action {
            connect @ Action::Connect { provider, .. } => {
                let mut credentials: Vec<api::Credential> = connect
                    .credentials()
                    .into_iter()
                    .map(|(name, value)| api::Credential { name: name.to_owned(), value })
                    .collect();
                // The fields the brand's form marks host-supplied (TTLock's
                // application) come from the host's configuration, as a PMS
                // would add its own: here the world's `app`.
                if *provider == ProviderIn::Ttlock {
                    let (app_id, app_secret) = self.ttlock_app.clone().unwrap_or_default();
                    for (name, value) in [("client_id", app_id), ("client_secret", app_secret)] {
                        if !credentials.iter().any(|c| c.name == name) {
                            credentials.push(api::Credential { name: name.into(), value });
                        }
                    }
                }
                let account = answer(p.connect(provider.api(), &credentials))?;
                Ok(json!({"account": account.name}))
            }
            Action::Disconnect { provider } => answer(p.disconnect(provider.api())).map(|()| json!({})),
            Action::Property { property } => {
                let prop = property.to_api();
                answer(p.on_property_changed(&prop))?;
                self.properties.insert(prop.id.clone(), prop);
                Ok(json!({}))
            }
            Action::Assign { property, lock, provider, days_before, margin_minutes, backup_codes } => {
                let settings = api::Settings {
                    days_before: days_before.map(saturate),
                    margin_minutes: margin_minutes.map(saturate),
                    backup_codes: backup_codes.map(saturate),
                };
                let a = answer(p.assign_with(property, provider.api(), lock, settings))?;
                let mut result = json!({
                    "property": a.property_id,
                    "provider": provider,
                    "lock": a.lock_id,
                    "lock_name": a.lock_name,
                    "remote": remote_json(&a.remote),
                    "days_before": a.days_before,
                    "margin_minutes": a.margin_minutes,
                });
                // Only when there is a pool (R25): reports without one read as before.
                if a.backup_codes > 0 {
                    result["backup_codes"] = json!(a.backup_codes);
                }
                Ok(result)
            }
            Action::Unassign { property } => answer(p.unassign(property)).map(|()| json!({})),
            Action::ShareDoor { property, lock, provider } => {
                let door = answer(p.share_door(property, provider.api(), lock))?;
                Ok(json!({
                    "property": door.property_id,
                    "provider": provider,
                    "lock": door.lock_id,
                    "name": door.lock_name,
                }))
            }
            Action::UnshareDoor { property, lock, provider } => {
                answer(p.unshare_door(property, provider.api(), lock)).map(|()| json!({}))
            }
            Action::Booking { booking } => {
                let property = self.properties.get(&booking.property).cloned().ok_or_else(|| {
                    format!("unknown property \"{}\": add it with a `property` step first", booking.property)
                })?;
                let event = api::BookingEvent {
                    booking: api::Booking {
                        id: booking.id.clone(),
                        property_id: booking.property.clone(),
                        guest_name: booking.guest_name.clone(),
                        check_in: booking.check_in.clone(),
                        check_out: booking.check_out.clone(),
                        check_in_time: booking.check_in_time.clone(),
                        check_out_time: booking.check_out_time.clone(),
                        status: match booking.status {
                            StatusIn::Confirmed => api::BookingStatus::Confirmed,
                            StatusIn::Cancelled => api::BookingStatus::Cancelled,
                        },
                    },
                    property,
                };
                answer(p.on_booking_changed(&event)).map(|()| json!({}))
            }
            Action::Bridge { bridge, online, provider } => {
                self.vendor.set_online(provider.vendor(), bridge, *online)?;
                Ok(json!({"provider": provider, "bridge": bridge, "online": online}))
            }
            Action::Fault { endpoint, status, count, provider, kind, errcode } => {
                let fault = Fault {
                    endpoint: endpoint.clone(),
                    status: *status,
                    count: *count,
                    kind: kind.clone(),
                    errcode: *errcode,
                };
                self.vendor.inject_fault(provider.vendor(), &fault)?;
                let mut result = json!({"provider": provider, "endpoint": endpoint, "status": status, "count": count});
                // What was armed, as the step said it (a body fault or an errcode is not a status 0 hang).
                if let Some(obj) = result.as_object_mut() {
                    if let Some(kind) = kind {
                        obj.insert("kind".into(), json!(kind));
                    }
                    if let Some(errcode) = errcode {
                        obj.insert("errcode".into(), json!(errcode));
                    }
                }
                Ok(result)
            }
            Action::RevokeTokens { provider } => {
                self.vendor.revoke_tokens(provider.vendor())?;
                Ok(json!({}))
            }
            Action::TryPin { lock, provider, pin, booking } => {
                let pins: Vec<String> = match (pin, booking) {
                    (Some(pin), _) => vec![pin.clone()],
                    (None, Some(booking)) => {
                        let message = match self.messages.get(booking) {
                            Some(m) => m.clone(),
                            None => p
                                .render_variable("smartlock_code", booking)
                                .map_err(|e| e.to_string())?
                                .unwrap_or_default(),
                        };
                        digit_runs(&message)
                    }
                    (None, None) => return Err("try_pin needs `pin` or `booking`".into()),
                };
                let mut opens = false;
                for pin in &pins {
                    opens |= self.vendor.try_pin(provider.vendor(), lock, pin)?;
                }
                Ok(json!({"opens": opens, "tried": pins.len()}))
            }
            Action::Render { booking, template } => {
                let mut failure = None;
                let output = template::substitute(template, |name| match p.render_variable(name, booking) {
                    Ok(v) => v,
                    Err(e) => {
                        failure = Some(e.to_string());
                        None
                    }
                });
                match failure {
                    Some(e) => Err(e),
                    None => {
                        self.messages.insert(booking.clone(), output.clone());
                        Ok(json!({"output": output}))
                    }
                }
            }
            Action::Status { booking } => answer(p.booking_status(booking)).map(|s| status_json(&s)),
            Action::Restart {} => {
                // A host restart: engine, component and instances are gone;
                // only the durable storage (and the vendor) remain.
                // SAFETY: the bytes come from `Runtime::serialize` of this process.
                let runtime = unsafe { Runtime::from_precompiled(&self.precompiled, self.runtime_config.clone()) }
                    .map_err(|e| format!("restart failed: {e:#}"))?;
                self.plugin = runtime.tenant(self.tenant.clone());
                Ok(json!({}))
            }
            Action::End {} => Ok(json!({})),
        }
    }
}

/// How codes reach a lock, as reports spell it: `{"bridge": "B1"}` for a
/// link through a device, `{"keypad": true}` for a direct one.
pub fn remote_json(r: &api::RemotePath) -> Value {
    let mut out = serde_json::Map::new();
    out.insert(r.kind.clone(), r.via.as_ref().map_or(Value::Bool(true), |v| Value::String(v.clone())));
    Value::Object(out)
}

impl Action {
    /// A `connect` step's credential fields as given, by name.
    fn credentials(&self) -> Vec<(&'static str, String)> {
        let Action::Connect { client_id, client_secret, api_token, username, password, api_key, .. } = self else {
            return Vec::new();
        };
        [
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("api_token", api_token),
            ("username", username),
            ("password", password),
            ("api_key", api_key),
        ]
        .into_iter()
        .filter_map(|(name, v)| v.clone().map(|v| (name, v)))
        .collect()
    }
}

/// Every run of 4 to 12 digits in a message: what a guest would type.
fn digit_runs(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_digit()).filter(|run| (4..=12).contains(&run.len())).map(str::to_owned).collect()
}

fn saturate(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(if v < 0 { i32::MIN } else { i32::MAX })
}

/// The plugin's answer, or its error (or the trap) as a plain sentence.
fn answer<T>(r: Result<Result<T, api::Error>, CallError>) -> Result<T, String> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(error_sentence(&e)),
        Err(e) => Err(e.to_string()),
    }
}

/// A plugin error as the plain sentence reports carry.
pub fn error_sentence(e: &api::Error) -> String {
    crate::PluginError::from(e.clone()).to_string()
}

/// A code status as the `status` step reports it: the service's one
/// serialisation (`serve::json::status_json`), with the step's original key
/// names `booking` and `lock` kept beside `booking_id` and `lock_id`.
fn status_json(s: &api::CodeStatus) -> Value {
    let mut v = crate::serve::json::status_json(s);
    v["booking"] = json!(s.booking_id);
    v["lock"] = json!(s.lock_id);
    v
}
