//! `host-harness bench-multinode`: what PostgreSQL costs and what several
//! service processes give (R34), measured in one run against a PostgreSQL
//! server whose user may create databases (each measurement gets a fresh
//! one, dropped afterwards).
//!
//! - **Per call**: the same plugin calls on a tenant stored in SQLite and in
//!   PostgreSQL, the latter in a turn as `serve` makes them (advisory lock,
//!   fenced store, release with the wake-up): medians and their ratio.
//! - **Throughput**: `serve --stub` processes (1, 2, then 3) on one database
//!   and one `stub --speed` process; 12 tenants put 480 bookings due at once
//!   through the API, spread over the processes; bookings handled per
//!   second from the first request until the stub holds every PIN.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{json, Value};

use super::{event, median, ok, round, us};
use crate::imports::postgres::{mask_password, testing};
use crate::imports::{Clock as _, SimClock, SqliteDb, Tenant};
use crate::{Fence, PgDb, Runtime, RuntimeConfig};

/// Calls measured per backend.
const CALLS: usize = 200;
const TENANTS: usize = 12;
const LOCKS_PER_TENANT: usize = 4;
const STAYS_PER_LOCK: usize = 10;
/// The stub's speed in the throughput runs: vendor time is not what is measured.
const SPEED: u32 = 3600;
const START: &str = "2027-01-04T08:00:00Z";

pub fn run(config: RuntimeConfig, url: &str, as_json: bool) -> anyhow::Result<()> {
    let cache = tempfile::tempdir()?;
    let config = RuntimeConfig { cache_dir: config.cache_dir.clone().or(Some(cache.path().to_path_buf())), ..config };
    let component = match &config.component {
        crate::ComponentSource::File(path) => Some(path.clone()),
        crate::ComponentSource::Bytes(_) => None,
    };
    let runtime = Runtime::new(config.clone())?;
    let per_call = per_call(&runtime, url)?;
    let mut runs = Vec::new();
    for processes in 1..=3 {
        runs.push(throughput(
            url,
            processes,
            config.cache_dir.as_deref().unwrap_or(cache.path()),
            component.as_deref(),
        )?);
    }
    let rate = |i: usize| runs[i]["bookings_per_s"].as_f64().unwrap_or(0.0);
    let report = json!({
        "database": mask_password(url),
        "per_call": per_call,
        "throughput": runs,
        "scaling_2_over_1": round(rate(1) / rate(0), 2),
        "scaling_3_over_1": round(rate(2) / rate(0), 2),
    });
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("per call (median of {CALLS}):");
        for (what, sqlite, pg, ratio) in [
            ("booking-changed", "booking_changed_us_sqlite", "booking_changed_us_postgres", "booking_changed_ratio"),
            ("idle tick", "tick_idle_us_sqlite", "tick_idle_us_postgres", "tick_idle_ratio"),
        ] {
            println!(
                "  {what:<16} SQLite {:>8} us   PostgreSQL (in a turn) {:>8} us   ratio {}",
                per_call[sqlite], per_call[pg], per_call[ratio]
            );
        }
        println!("  a turn alone (lock, mark, release) {} us", per_call["turn_us_postgres"]);
        println!(
            "throughput ({} bookings, {TENANTS} tenants, stub at {SPEED}x):",
            TENANTS * LOCKS_PER_TENANT * STAYS_PER_LOCK
        );
        for r in &runs {
            println!(
                "  {} process(es): {} bookings/s ({} s; the API took the {} bookings in {} s)",
                r["processes"], r["bookings_per_s"], r["seconds"], r["bookings"], r["accepted_seconds"]
            );
        }
        println!("  scaling: 2/1 = {}, 3/1 = {}", report["scaling_2_over_1"], report["scaling_3_over_1"]);
    }
    Ok(())
}

/// A fresh database on the server of `url` (its user may create databases).
fn fresh_database(url: &str, label: &str) -> anyhow::Result<String> {
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no random source: {e}"))?;
    let name = format!("smartlock_bench_{label}_{}_{:08x}", std::process::id(), u32::from_be_bytes(random));
    let mut admin = testing::client(url);
    admin.batch_execute(&format!("CREATE DATABASE {name}")).context("CREATE DATABASE")?;
    Ok(testing::with_dbname(url, &name))
}

fn drop_database(url: &str, db_url: &str) {
    let name = db_url.rsplit('/').next().unwrap_or_default().split('?').next().unwrap_or_default().to_string();
    let mut admin = testing::client(url);
    let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}

fn per_call(runtime: &Runtime, url: &str) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir()?;
    let sqlite = SqliteDb::open(dir.path().join("bench.sqlite"))?;
    let db_url = fresh_database(url, "calls")?;
    let pg = PgDb::open(&db_url)?;
    let clock = Arc::new(SimClock::new(super::NOW));
    let sqlite_tenant =
        runtime.tenant(Tenant::new("t-sqlite", Arc::new(sqlite.tenant("t-sqlite"))).with_clock(clock.clone()));
    let fence = Fence::new();
    let pg_tenant =
        runtime.tenant(Tenant::new("t-pg", Arc::new(pg.tenant_fenced("t-pg", &fence))).with_clock(clock.clone()));
    let in_turn = |f: &mut dyn FnMut() -> anyhow::Result<()>| -> anyhow::Result<()> {
        let turn = pg.begin_turn("t-pg", &fence, "bench")?;
        f()?;
        turn.release(Some(runtime.wake_ups().next("t-pg")))?;
        Ok(())
    };
    ok(sqlite_tenant.on_property_changed(&super::api_property("p")))?;
    in_turn(&mut || ok(pg_tenant.on_property_changed(&super::api_property("p"))))?;
    let (mut sqlite_bc, mut pg_bc, mut sqlite_tick, mut pg_tick, mut turns) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // Interleaved, so a noisy moment costs both alike.
    for i in 0..CALLS {
        let e = event(&format!("b{i}"), "p");
        let started = Instant::now();
        ok(sqlite_tenant.on_booking_changed(&e))?;
        sqlite_bc.push(started.elapsed());
        let started = Instant::now();
        in_turn(&mut || ok(pg_tenant.on_booking_changed(&e)))?;
        pg_bc.push(started.elapsed());
        let now = clock.now();
        let started = Instant::now();
        ok(sqlite_tenant.on_tick(now))?;
        sqlite_tick.push(started.elapsed());
        let started = Instant::now();
        in_turn(&mut || ok(pg_tenant.on_tick(now)).map(drop))?;
        pg_tick.push(started.elapsed());
        let started = Instant::now();
        in_turn(&mut || Ok(()))?;
        turns.push(started.elapsed());
    }
    drop(pg_tenant);
    drop(pg);
    drop_database(url, &db_url);
    let (sb, pb) = (us(median(&mut sqlite_bc)), us(median(&mut pg_bc)));
    let (st, pt) = (us(median(&mut sqlite_tick)), us(median(&mut pg_tick)));
    Ok(json!({
        "booking_changed_us_sqlite": round(sb, 1),
        "booking_changed_us_postgres": round(pb, 1),
        "booking_changed_ratio": round(pb / sb, 2),
        "tick_idle_us_sqlite": round(st, 1),
        "tick_idle_us_postgres": round(pt, 1),
        "tick_idle_ratio": round(pt / st, 2),
        "turn_us_postgres": round(us(median(&mut turns)), 1),
    }))
}

/// A child process (`stub`, `serve`) that printed its base URL, killed on
/// drop. Shared with `tests/multinode.rs`.
pub struct Proc {
    pub child: Child,
    pub base: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `command` (its stderr appended to `log`) and waits for the base
/// URL it prints as its first line on stdout.
pub fn spawn(mut command: Command, log: &Path) -> anyhow::Result<Proc> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(std::fs::File::options().create(true).append(true).open(log)?)
        .spawn()
        .context("starting a process")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let base = line.trim().to_string();
    anyhow::ensure!(base.starts_with("http://"), "no base URL from {command:?} (see {})", log.display());
    Ok(Proc { child, base })
}

fn bench_world() -> Value {
    let mut accounts = Vec::new();
    let (mut locks, mut bridges) = (Vec::new(), Vec::new());
    for t in 0..TENANTS {
        accounts.push(
            json!({"client_id": format!("t{t}-id"), "client_secret": format!("t{t}-secret"), "name": format!("T{t}")}),
        );
        for l in 0..LOCKS_PER_TENANT {
            let n = t * LOCKS_PER_TENANT + l;
            locks.push(
                json!({"id": format!("OE1X{n:06}"), "name": format!("Lock {n}"), "bridge": format!("EB1X{n:06}")}),
            );
            bridges.push(json!({"id": format!("EB1X{n:06}"), "name": format!("Bridge {n}"), "online": true}));
        }
    }
    json!({"start": START, "igloohome": {"accounts": accounts, "locks": locks, "bridges": bridges}})
}

/// An HTTP client that returns 4xx and 5xx as answers.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn call(base: &str, token: &str, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"))
        .header("Authorization", format!("Bearer {token}"));
    if body.is_some() {
        req = req.header("Content-Type", "application/json");
    }
    let req = req.body(body.map(|b| b.to_string()).unwrap_or_default().into_bytes())?;
    let mut resp = agent().run(req)?;
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string()?;
    anyhow::ensure!((200..300).contains(&status), "{method} {path}: {status} {text}");
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `processes` service processes on a fresh database: bookings handled per
/// second, from the first booking request until every PIN is on its lock.
fn throughput(url: &str, processes: usize, cache: &Path, component: Option<&Path>) -> anyhow::Result<Value> {
    let exe = std::env::current_exe()?;
    let dir = tempfile::tempdir()?;
    let db_url = fresh_database(url, &format!("p{processes}"))?;
    let world = dir.path().join("world.json");
    std::fs::write(&world, bench_world().to_string())?;
    let mut stub = Command::new(&exe);
    stub.args(["stub", "--config"]).arg(&world).args(["--speed", &SPEED.to_string()]);
    let stub = spawn(stub, &dir.path().join("stub.log"))?;
    let token = "bench-multinode-operator-token";
    let mut procs = Vec::new();
    for i in 0..processes {
        let mut serve = Command::new(&exe);
        serve.env("SMARTLOCK_TOKEN", token).env("SMARTLOCK_DB", &db_url).arg("--cache-dir").arg(cache);
        if let Some(component) = component {
            serve.arg("--component").arg(component);
        }
        serve.args(["serve", "--port", "0", "--stub", &stub.base]);
        procs.push(spawn(serve, &dir.path().join(format!("serve-{i}.log")))?);
    }
    let bases: Vec<String> = procs.iter().map(|p| p.base.clone()).collect();
    let start = chrono::DateTime::parse_from_rfc3339(START)?.date_naive();
    // Set-up (not timed): accounts, properties, locks.
    std::thread::scope(|s| -> anyhow::Result<()> {
        let handles: Vec<_> = (0..TENANTS)
            .map(|t| {
                let bases = &bases;
                s.spawn(move || -> anyhow::Result<()> {
                    let base = &bases[t % bases.len()];
                    let tenant = format!("/api/tenants/t{t}");
                    let creds = json!({"client_id": format!("t{t}-id"), "client_secret": format!("t{t}-secret")});
                    call(base, token, "POST", &format!("{tenant}/accounts/igloohome"), Some(creds))?;
                    for l in 0..LOCKS_PER_TENANT {
                        let n = t * LOCKS_PER_TENANT + l;
                        call(
                            base,
                            token,
                            "PUT",
                            &format!("{tenant}/properties/p{l}"),
                            Some(json!({"name": format!("P{l}"), "timezone": "UTC"})),
                        )?;
                        let assignment =
                            json!({"provider": "igloohome", "lock_id": format!("OE1X{n:06}"), "days_before": 14});
                        call(base, token, "PUT", &format!("{tenant}/properties/p{l}/assignment"), Some(assignment))?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| anyhow::anyhow!("a set-up thread panicked"))??;
        }
        Ok(())
    })?;
    // Timed: every tenant puts its bookings (all due now), each request to
    // the next process; done when the stub holds every PIN.
    let total = TENANTS * LOCKS_PER_TENANT * STAYS_PER_LOCK;
    let started = Instant::now();
    std::thread::scope(|s| -> anyhow::Result<()> {
        let handles: Vec<_> = (0..TENANTS)
            .map(|t| {
                let bases = &bases;
                s.spawn(move || -> anyhow::Result<()> {
                    let mut n = t;
                    for l in 0..LOCKS_PER_TENANT {
                        for k in 0..STAYS_PER_LOCK {
                            let day = 1 + k as u64;
                            let booking = json!({
                                "property_id": format!("p{l}"),
                                "guest_name": "G",
                                "check_in": (start + chrono::Days::new(day)).to_string(),
                                "check_out": (start + chrono::Days::new(day + 1)).to_string(),
                            });
                            n += 1;
                            let base = &bases[n % bases.len()];
                            call(base, token, "PUT", &format!("/api/tenants/t{t}/bookings/b{l}-{k}"), Some(booking))?;
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| anyhow::anyhow!("a booking thread panicked"))??;
        }
        Ok(())
    })?;
    let accepted = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let mut resp = agent().get(&format!("{}/_admin/pins", stub.base)).call()?;
        let pins: Value = serde_json::from_str(&resp.body_mut().read_to_string()?)?;
        let on = pins.as_array().map_or(0, Vec::len);
        if on >= total {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{processes} process(es): only {on} of {total} PINs after 5 minutes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(procs);
    drop(stub);
    drop_database(url, &db_url);
    Ok(json!({
        "processes": processes,
        "bookings": total,
        "seconds": round(seconds, 2),
        "accepted_seconds": round(accepted.as_secs_f64(), 2),
        "bookings_per_s": round(total as f64 / seconds, 1),
    }))
}
