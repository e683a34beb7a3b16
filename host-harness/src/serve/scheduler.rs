//! The tick loop (R21): sleeps until the earliest wake-up any tenant's
//! plugin asked for ([`WakeUps::earliest`](crate::WakeUps::earliest)) or the
//! regular tick, whichever is first, and ticks the tenants that are due
//! ([`WakeUps::due`](crate::WakeUps::due)). The regular tick, every
//! [`BACKSTOP_SECS`] of the service's clock, ticks every tenant with state;
//! the first one runs at start (wake-ups live in memory only). An API call
//! that may have made work due wakes the loop at once ([`Poke`]).
//!
//! With PostgreSQL ([`run_shared`]) the schedule is a table every process
//! shares: each process claims what is due — wake-ups and regular ticks —
//! with `FOR UPDATE SKIP LOCKED`, so each due tick runs on exactly one
//! process and the regular ticks are spread over the processes; a process
//! that dies leaves its claims to the others (a claimed wake-up comes due
//! again after [`LEASE`], a regular tick at the next backstop). Each tick
//! holds the tenant's turn across processes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::host::Host;
use super::json::utc;

/// The regular tick, in seconds of the service's clock.
pub const BACKSTOP_SECS: i64 = 5 * 60;
/// Extra `on-tick` calls at once while the plugin says more is due.
const MAX_TICK_REPEATS: u32 = 20;
/// A tenant whose wake-up is still due right after its tick (it could not
/// make progress) is ticked again only after this pause, unless an API call
/// for it came in since.
const RETICK_PAUSE: Duration = Duration::from_secs(1);
/// Tenants ticked at once.
pub const PARALLEL_TICKS: usize = 8;
/// The loop looks again at least this often (wall clock).
const MAX_SLEEP: Duration = Duration::from_secs(30);
/// A demo's simulated clock is saved this often (wall clock), so a restarted
/// demo goes on from about where it was.
const CLOCK_SAVE: Duration = Duration::from_secs(1);
/// With PostgreSQL: how long (wall clock) a claimed wake-up stays claimed
/// before another process may take it (the tick's own report replaces it
/// sooner).
pub const LEASE: Duration = Duration::from_secs(60);
/// With PostgreSQL: how often (wall clock) a process looks at the shared
/// schedule at least, for wake-ups other processes wrote.
const SHARED_POLL: Duration = Duration::from_millis(500);

/// Starts the loop on its own thread.
pub fn spawn(host: Arc<Host>) -> std::io::Result<thread::JoinHandle<()>> {
    thread::Builder::new().name("serve-ticks".into()).spawn(move || run(&host))
}

fn run(host: &Host) {
    if let Some(db) = host.db.postgres() {
        return run_shared(host, db);
    }
    let wake_ups = host.runtime.wake_ups();
    let mut next_backstop = host.clock.now_secs();
    let mut last_tick: HashMap<String, Instant> = HashMap::new();
    let mut poked: HashSet<String> = HashSet::new();
    let mut clock_saved = Instant::now();
    let max_sleep = if host.clock.is_simulated() { CLOCK_SAVE } else { MAX_SLEEP };
    loop {
        let now = host.now();
        let mut due: Vec<String> = wake_ups
            .due(now)
            .into_iter()
            .filter(|t| poked.contains(t) || last_tick.get(t).is_none_or(|at| at.elapsed() >= RETICK_PAUSE))
            .collect();
        if now >= next_backstop {
            for t in host.registered() {
                if !due.contains(&t) {
                    due.push(t);
                }
            }
            next_backstop = now + BACKSTOP_SECS;
        }
        if host.clock.is_simulated() && clock_saved.elapsed() >= CLOCK_SAVE {
            host.save_clock();
            clock_saved = Instant::now();
        }
        for chunk in due.chunks(PARALLEL_TICKS) {
            thread::scope(|s| {
                for tenant in chunk {
                    s.spawn(move || tick(host, tenant));
                }
            });
        }
        for t in due {
            poked.remove(&t);
            last_tick.insert(t, Instant::now());
        }
        host.evict_idle();

        // Sleep until the earliest wake-up or the regular tick.
        let now = host.clock.now_secs();
        let mut sleep = host.clock.wall_until(next_backstop);
        if let Some((at, _)) = wake_ups.earliest() {
            // A wake-up already due was just ticked and is pausing: look again soon.
            let wait = if at <= now { Duration::from_millis(100) } else { host.clock.wall_until(at) };
            sleep = sleep.min(wait);
        }
        match host.poke.wait(sleep.min(max_sleep)) {
            Some(tenants) => poked.extend(tenants),
            None => return,
        }
    }
}

/// Service seconds in `wall` of the wall clock (at least 1).
fn service_secs(host: &Host, wall: Duration) -> i64 {
    ((wall.as_secs_f64() * f64::from(host.clock.speed())).ceil() as i64).max(1)
}

/// The loop on a shared PostgreSQL schedule: claim what is due, tick it,
/// sleep until the schedule's next due instant (looking again at least
/// every [`SHARED_POLL`], and at once when poked).
fn run_shared(host: &Host, db: &crate::PgDb) {
    let lease = service_secs(host, LEASE);
    let mut clock_saved = Instant::now();
    loop {
        let now = host.now();
        loop {
            let claimed = match db.claim_due(now, lease, BACKSTOP_SECS, PARALLEL_TICKS as i64) {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming due ticks failed");
                    break;
                }
            };
            thread::scope(|s| {
                for tenant in &claimed {
                    s.spawn(move || tick(host, tenant));
                }
            });
            if claimed.len() < PARALLEL_TICKS {
                break;
            }
        }
        if host.clock.is_simulated() && clock_saved.elapsed() >= CLOCK_SAVE {
            host.save_clock();
            clock_saved = Instant::now();
        }
        host.evict_idle();
        let sleep = match db.next_due() {
            Ok(Some(at)) => host.clock.wall_until(at),
            Ok(None) => SHARED_POLL,
            Err(e) => {
                tracing::warn!(error = %e, "reading the schedule failed");
                SHARED_POLL
            }
        };
        if host.poke.wait(sleep.clamp(Duration::from_millis(20), SHARED_POLL)).is_none() {
            return;
        }
    }
}

/// Ticks one tenant at the service's clock, again while more is due, in
/// the tenant's turn.
fn tick(host: &Host, id: &str) {
    let Ok(tenant) = host.tenant(id) else { return };
    let turn = match tenant.turn() {
        Ok(turn) => turn,
        Err(e) => {
            tracing::warn!(tenant = id, error = %e.message, "no tick: the tenant's turn could not be taken");
            return;
        }
    };
    tick_in_turn(host, id, &tenant);
    if host.db.postgres().is_some() {
        // A wake-up still due after the tick (it could not make progress)
        // is looked at again after a pause, not at once forever.
        let now = host.clock.now_secs();
        let wake_ups = host.runtime.wake_ups();
        if wake_ups.next(id).is_some_and(|at| at > i64::MIN && at <= now) {
            wake_ups.set(id, Some(now + service_secs(host, RETICK_PAUSE)));
        }
    }
    drop(turn);
}

fn tick_in_turn(host: &Host, id: &str, tenant: &super::host::TenantEntry) {
    for _ in 0..MAX_TICK_REPEATS {
        let now = host.now();
        match tenant.handle.on_tick(now) {
            Ok(Ok(summary)) => {
                if summary.processed > 0 || summary.vendor_requests > 0 {
                    tracing::debug!(
                        tenant = id,
                        at = %utc(now),
                        processed = summary.processed,
                        vendor_requests = summary.vendor_requests,
                        "tick"
                    );
                }
                if !summary.more_due {
                    return;
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(tenant = id, at = %utc(now), error = %crate::PluginError::from(e), "tick refused");
                return;
            }
            // Logged by the runtime.
            Err(_) => return,
        }
    }
}
