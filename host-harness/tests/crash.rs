//! Crash consistency: the host process is SIGKILLed at random moments of a
//! five-week scenario and started again from its SQLite file, while the
//! vendor stubs (igloohome, Nuki and TTLock in one world) run as their own
//! process (so the lock-side truth survives the host) with their clock
//! driven by the host over the admin API.
//!
//! The scenario has an igloohome property (two locks), a Nuki one and a
//! TTLock one, each with codes created, moved, cancelled, delayed by an
//! outage past the eve's alert, and (Nuki) a delete delayed by the lock
//! going off line. Checked at the end, on the stubs' truth, per provider:
//! every booking that could have had its code has it on its own lock with
//! one PIN, never two entries at once, with the right final window, and
//! removed after check-out within the retry interval; moved codes kept
//! their PIN and moved once; cancelled codes are gone promptly; nothing
//! else was ever on a lock; and each due alert was sent exactly once.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use host_harness::SqliteDb;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_host-harness");

fn scenario() -> Value {
    let s = |at: &str, action: &str, extra: Value| {
        let mut v = json!({"at": at, "do": action});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    };
    let booking = |at: &str, id: &str, p: &str, cin: &str, cout: &str, status: &str| {
        s(
            at,
            "booking",
            json!({"booking": {"id": id, "property": p, "guest_name": format!("Guest {id}"), "check_in": cin, "check_out": cout, "status": status}}),
        )
    };
    let online = |at: &str, provider: &str, bridge: &str, online: bool| {
        s(at, "bridge", json!({"provider": provider, "bridge": bridge, "online": online}))
    };
    json!({
        "name": "crash consistency",
        "start": "2026-03-01T08:00:00Z",
        "tick_minutes": 15,
        "igloohome": {
            "accounts": [{"client_id": "crash-id", "client_secret": "crash-secret", "name": "Crash Test"}],
            "locks": [{"id": "L1", "name": "Paris door", "bridge": "B1"}, {"id": "L2", "name": "Lisbon door", "bridge": "B2"}],
            "bridges": [{"id": "B1", "name": "Paris bridge"}, {"id": "B2", "name": "Lisbon bridge"}]
        },
        "nuki": {
            "accounts": [{"api_token": "crash-nuki-token", "name": "Crash Test"}],
            "locks": [{"id": NUKI_LOCK, "name": "Berlin door"}]
        },
        "ttlock": {
            "app": {"client_id": "crash-app-id", "client_secret": "crash-app-secret"},
            "accounts": [{"username": "crash@example.com", "password": "crash-password", "name": "crash@example.com"}],
            "locks": [{"id": TTLOCK_LOCK, "name": "London door", "gateway": TTLOCK_GATEWAY}],
            "gateways": [{"id": TTLOCK_GATEWAY, "name": "London gateway"}]
        },
        "steps": [
            s("2026-03-01T08:00:00Z", "connect", json!({"client_id": "crash-id", "client_secret": "crash-secret"})),
            s("2026-03-01T08:00:00Z", "connect", json!({"provider": "nuki", "api_token": "crash-nuki-token"})),
            s("2026-03-01T08:00:00Z", "connect", json!({"provider": "ttlock", "username": "crash@example.com", "password": "crash-password"})),
            s("2026-03-01T08:01:00Z", "property", json!({"property": {"id": "paris", "name": "Paris flat", "timezone": "Europe/Paris"}})),
            s("2026-03-01T08:01:00Z", "property", json!({"property": {"id": "lisbon", "name": "Lisbon flat", "timezone": "Europe/Lisbon"}})),
            s("2026-03-01T08:01:00Z", "property", json!({"property": {"id": "berlin", "name": "Berlin flat", "timezone": "Europe/Berlin"}})),
            s("2026-03-01T08:01:00Z", "property", json!({"property": {"id": "london", "name": "London flat", "timezone": "Europe/London"}})),
            s("2026-03-01T08:02:00Z", "assign", json!({"property": "paris", "lock": "L1", "days_before": 3, "margin_minutes": 30})),
            s("2026-03-01T08:02:00Z", "assign", json!({"property": "lisbon", "lock": "L2", "days_before": 3, "margin_minutes": 60})),
            s("2026-03-01T08:02:00Z", "assign", json!({"property": "berlin", "provider": "nuki", "lock": NUKI_LOCK, "days_before": 3, "margin_minutes": 30})),
            s("2026-03-01T08:02:00Z", "assign", json!({"property": "london", "provider": "ttlock", "lock": TTLOCK_LOCK, "days_before": 3, "margin_minutes": 60})),
            booking("2026-03-01T09:00:00Z", "b1", "paris", "2026-03-10", "2026-03-12", "confirmed"),
            booking("2026-03-01T09:00:00Z", "b2", "paris", "2026-03-14", "2026-03-17", "confirmed"),
            booking("2026-03-01T09:00:00Z", "b3", "lisbon", "2026-03-11", "2026-03-13", "confirmed"),
            booking("2026-03-01T09:00:00Z", "b4", "lisbon", "2026-03-20", "2026-03-23", "confirmed"),
            booking("2026-03-01T09:00:00Z", "b5", "paris", "2026-03-25", "2026-03-27", "confirmed"),
            booking("2026-03-01T09:00:00Z", "b6", "paris", "2026-03-28", "2026-03-30", "confirmed"),
            booking("2026-03-01T09:00:00Z", "b7", "lisbon", "2026-04-02", "2026-04-04", "confirmed"),
            booking("2026-03-01T09:05:00Z", "n1", "berlin", "2026-03-09", "2026-03-11", "confirmed"),
            booking("2026-03-01T09:05:00Z", "n2", "berlin", "2026-03-15", "2026-03-18", "confirmed"),
            booking("2026-03-01T09:05:00Z", "n3", "berlin", "2026-03-21", "2026-03-23", "confirmed"),
            booking("2026-03-01T09:05:00Z", "n4", "berlin", "2026-03-28", "2026-03-30", "confirmed"),
            booking("2026-03-01T09:05:00Z", "n5", "berlin", "2026-04-02", "2026-04-04", "confirmed"),
            booking("2026-03-01T09:10:00Z", "t1", "london", "2026-03-08", "2026-03-10", "confirmed"),
            booking("2026-03-01T09:10:00Z", "t2", "london", "2026-03-13", "2026-03-15", "confirmed"),
            booking("2026-03-01T09:10:00Z", "t3", "london", "2026-03-19", "2026-03-21", "confirmed"),
            booking("2026-03-01T09:10:00Z", "t4", "london", "2026-03-26", "2026-03-28", "confirmed"),
            booking("2026-03-01T09:10:00Z", "t5", "london", "2026-04-01", "2026-04-03", "confirmed"),
            // t2 and n2 move after their codes were created (in place, R14).
            booking("2026-03-11T10:00:00Z", "t2", "london", "2026-03-13", "2026-03-16", "confirmed"),
            booking("2026-03-13T10:00:00Z", "n2", "berlin", "2026-03-16", "2026-03-18", "confirmed"),
            // b4: the bridge is down from before its creation until after the eve's alert.
            s("2026-03-16T20:00:00Z", "bridge", json!({"bridge": "B2", "online": false})),
            // t3 is cancelled after its code was created.
            booking("2026-03-17T10:00:00Z", "t3", "london", "2026-03-19", "2026-03-21", "cancelled"),
            // n3 likewise.
            booking("2026-03-19T10:00:00Z", "n3", "berlin", "2026-03-21", "2026-03-23", "cancelled"),
            s("2026-03-19T19:30:00Z", "bridge", json!({"bridge": "B2", "online": true})),
            // t4: the gateway is down from before its creation until after the eve's alert.
            online("2026-03-22T20:00:00Z", "ttlock", TTLOCK_GATEWAY, false),
            // b5 moves after its code was created; b6 is cancelled after.
            booking("2026-03-23T10:00:00Z", "b5", "paris", "2026-03-26", "2026-03-28", "confirmed"),
            // n4: the Nuki lock is unreachable from before its creation until after the eve's alert.
            online("2026-03-24T20:00:00Z", "nuki", NUKI_LOCK, false),
            online("2026-03-25T19:30:00Z", "ttlock", TTLOCK_GATEWAY, true),
            booking("2026-03-26T10:00:00Z", "b6", "paris", "2026-03-28", "2026-03-30", "cancelled"),
            online("2026-03-27T19:30:00Z", "nuki", NUKI_LOCK, true),
            // t5's creation (March 29 00:00 London) falls in a gateway outage.
            online("2026-03-28T23:30:00Z", "ttlock", TTLOCK_GATEWAY, false),
            online("2026-03-29T00:45:00Z", "ttlock", TTLOCK_GATEWAY, true),
            // A flaky hour on Paris's bridge.
            s("2026-03-30T09:00:00Z", "bridge", json!({"bridge": "B1", "online": false})),
            s("2026-03-30T10:00:00Z", "bridge", json!({"bridge": "B1", "online": true})),
            // n5's delete (April 4 09:30Z) falls while the Nuki lock is unreachable.
            online("2026-04-04T09:15:00Z", "nuki", NUKI_LOCK, false),
            online("2026-04-04T10:00:00Z", "nuki", NUKI_LOCK, true),
            s("2026-04-06T00:00:00Z", "end", json!({}))
        ]
    })
}

const NUKI_LOCK: &str = "18205286116";
const TTLOCK_LOCK: &str = "532323";
const TTLOCK_GATEWAY: &str = "78979";

/// (booking, provider, lock, final window start, end) in UTC: each ends on
/// its lock, then is removed after check-out.
const EXPECTED: &[(&str, &str, &str, &str, &str)] = &[
    ("b1", "igloohome", "L1", "2026-03-10T13:30:00Z", "2026-03-12T10:30:00Z"),
    ("b2", "igloohome", "L1", "2026-03-14T13:30:00Z", "2026-03-17T10:30:00Z"),
    ("b3", "igloohome", "L2", "2026-03-11T14:00:00Z", "2026-03-13T12:00:00Z"),
    ("b4", "igloohome", "L2", "2026-03-20T14:00:00Z", "2026-03-23T12:00:00Z"),
    ("b5", "igloohome", "L1", "2026-03-26T13:30:00Z", "2026-03-28T10:30:00Z"),
    ("b7", "igloohome", "L2", "2026-04-02T13:00:00Z", "2026-04-04T11:00:00Z"),
    // Berlin: 15:00 / 11:00 local, margin 30; n4's stay spans the DST change.
    ("n1", "nuki", NUKI_LOCK, "2026-03-09T13:30:00Z", "2026-03-11T10:30:00Z"),
    ("n2", "nuki", NUKI_LOCK, "2026-03-16T13:30:00Z", "2026-03-18T10:30:00Z"),
    ("n4", "nuki", NUKI_LOCK, "2026-03-28T13:30:00Z", "2026-03-30T09:30:00Z"),
    ("n5", "nuki", NUKI_LOCK, "2026-04-02T12:30:00Z", "2026-04-04T09:30:00Z"),
    // London: margin 60; GMT until March 29, BST after.
    ("t1", "ttlock", TTLOCK_LOCK, "2026-03-08T14:00:00Z", "2026-03-10T12:00:00Z"),
    ("t2", "ttlock", TTLOCK_LOCK, "2026-03-13T14:00:00Z", "2026-03-16T12:00:00Z"),
    ("t4", "ttlock", TTLOCK_LOCK, "2026-03-26T14:00:00Z", "2026-03-28T12:00:00Z"),
    ("t5", "ttlock", TTLOCK_LOCK, "2026-04-01T13:00:00Z", "2026-04-03T11:00:00Z"),
];

/// (booking, the window before its move): moved once, in place, same PIN.
const MOVED: &[(&str, &str, &str)] = &[
    ("b5", "2026-03-25T13:30:00Z", "2026-03-27T10:30:00Z"),
    ("n2", "2026-03-15T13:30:00Z", "2026-03-18T10:30:00Z"),
    ("t2", "2026-03-13T14:00:00Z", "2026-03-15T12:00:00Z"),
];

/// (booking, provider, lock, when it was cancelled): its one code deleted
/// promptly.
const CANCELLED: &[(&str, &str, &str, &str)] = &[
    ("b6", "igloohome", "L1", "2026-03-26T10:00:00Z"),
    ("n3", "nuki", NUKI_LOCK, "2026-03-19T10:00:00Z"),
    ("t3", "ttlock", TTLOCK_LOCK, "2026-03-17T10:00:00Z"),
];

/// (dedup key, when): the due alerts, each exactly once, at 18:00 local
/// on the eve (Lisbon WET, London GMT, Berlin CET).
const ALERTS: &[(&str, &str)] =
    &[("alert/b4", "2026-03-19T18:00:00Z"), ("alert/t4", "2026-03-25T18:00:00Z"), ("alert/n4", "2026-03-27T17:00:00Z")];

fn t(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339()
}

/// Driver runs at most; each is killed after 50 to 650 ms unless it
/// finishes first. The scenario takes some seconds to drive, so the kills
/// fall all along it; past this many the last run finishes it.
const MAX_RUNS: usize = 150;

/// The next tick the driver's durable progress names (`None` before its
/// first save): how far into the scenario it got.
fn progress(db: &std::path::Path) -> Option<i64> {
    let store = SqliteDb::open(db).ok()?.tenant("driver");
    let bytes = host_harness::KvStore::get(&store, "progress").ok()??;
    serde_json::from_slice::<Value>(&bytes).ok()?["next_tick"].as_i64()
}

/// A small xorshift generator: random enough for kill times, reproducible
/// from the seed printed on failure.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

struct Stub(Child, String);

impl Drop for Stub {
    fn drop(&mut self) {
        let _ = ureq::post(&format!("{}/_admin/shutdown", self.1)).send_empty();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn crash_sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.json");
    std::fs::write(&file, scenario().to_string()).unwrap();
    let db = dir.path().join("host.sqlite");
    let cache = dir.path().join("cache");

    let mut child = Command::new(BIN)
        .args(["stub", "--config"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("stub starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let stub = Stub(child, line.trim().to_string());
    assert!(stub.1.starts_with("http://127.0.0.1:"), "stub address: {line:?}");

    let drive = || {
        let mut cmd = Command::new(BIN);
        cmd.arg("--cache-dir")
            .arg(&cache)
            .args(["drive", "--scenario"])
            .arg(&file)
            .args(["--stub", &stub.1, "--db"])
            .arg(&db);
        cmd.env("RUST_LOG", "warn").stderr(Stdio::null());
        cmd
    };

    // Compile the plugin into the cache first: a driver killed while it is
    // still compiling (seconds in a debug build) would never reach the
    // scenario, and every kill would miss it.
    let warm = dir.path().join("warm-up.json");
    let warm_up = json!({"name": "warm-up", "start": "2026-03-01T08:00:00Z", "steps": [{"at": "2026-03-01T08:00:00Z", "do": "end"}]});
    std::fs::write(&warm, warm_up.to_string()).unwrap();
    let status = Command::new(BIN)
        .arg("--cache-dir")
        .arg(&cache)
        .arg("scenario")
        .arg(&warm)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the warm-up run compiles the plugin");
    assert!(std::fs::read_dir(&cache).unwrap().next().is_some(), "the compiled plugin is cached");

    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    let mut rng = Rng(seed);
    let mut kills = 0;
    // The simulated instants the driver had reached when it was killed.
    let mut killed_at: Vec<i64> = Vec::new();
    let started = Instant::now();
    for _ in 0..MAX_RUNS {
        let mut running = drive().stdout(Stdio::null()).spawn().expect("driver starts");
        std::thread::sleep(Duration::from_millis(50 + rng.below(600)));
        match running.try_wait().unwrap() {
            Some(status) => {
                assert!(status.success(), "the driver failed on its own (seed {seed})");
                break;
            }
            None => {
                running.kill().unwrap(); // SIGKILL
                running.wait().unwrap();
                kills += 1;
                killed_at.extend(progress(&db));
            }
        }
    }
    let out = drive().stdout(Stdio::piped()).output().expect("driver runs to the end");
    assert!(out.status.success(), "final run failed (seed {seed})");
    let report: Value = serde_json::from_slice(&out.stdout).expect("report");
    killed_at.dedup();
    eprintln!(
        "{kills} kills survived in {:?}, {} of them at distinct instants of the scenario, from {} to {} (seed {seed})",
        started.elapsed(),
        killed_at.len(),
        killed_at.first().map_or("-".into(), |t| rfc3339(*t)),
        killed_at.last().map_or("-".into(), |t| rfc3339(*t)),
    );
    assert!(kills >= 5, "the test should really crash the host (got {kills} kills)");
    assert!(
        killed_at.len() >= 5,
        "the host should be killed while it drives the scenario, not while it starts (got {} of {kills} kills)",
        killed_at.len()
    );

    let pins = report["pins"].as_array().expect("pins").clone();
    let of = |booking: &str| -> Vec<&Value> {
        pins.iter()
            .filter(|p| p["access_name"].as_str().unwrap_or_default().contains(&format!("({booking})")))
            .collect()
    };
    let secs = |v: &Value| v.as_str().map(t);
    // Never the same PIN twice on one lock at once, whatever booking.
    for (i, a) in pins.iter().enumerate() {
        for b in &pins[i + 1..] {
            let until = |p: &Value| secs(&p["removed_at"]).unwrap_or(i64::MAX);
            let overlap = secs(&a["added_at"]).unwrap() < until(b) && secs(&b["added_at"]).unwrap() < until(a);
            let same_lock = a["provider"] == b["provider"] && a["lock"] == b["lock"];
            assert!(
                !(overlap && same_lock && a["pin"] == b["pin"]),
                "PIN twice on a lock at once (seed {seed}): {a} / {b}"
            );
        }
    }
    for (booking, provider, lock, start, end) in EXPECTED {
        let entries = of(booking);
        assert!(!entries.is_empty(), "{booking} got a code (seed {seed}): {pins:?}");
        for e in &entries {
            assert_eq!(
                (e["provider"].as_str(), e["lock"].as_str()),
                (Some(*provider), Some(*lock)),
                "{booking} only ever on its lock (seed {seed}): {e}"
            );
        }
        // One PIN per booking, never two entries at once.
        for pair in entries.windows(2) {
            assert_eq!(pair[0]["pin"], pair[1]["pin"], "{booking} kept its PIN (seed {seed})");
            let removed = secs(&pair[0]["removed_at"]).expect("earlier entry removed");
            assert!(removed <= secs(&pair[1]["added_at"]).unwrap(), "{booking}: two entries at once (seed {seed})");
        }
        let last = entries.last().unwrap();
        assert_eq!(
            (last["start"].as_str(), last["end"].as_str()),
            (Some(*start), Some(*end)),
            "{booking} window (seed {seed})"
        );
        let removed =
            secs(&last["removed_at"]).unwrap_or_else(|| panic!("{booking} removed after check-out (seed {seed})"));
        assert!(
            removed - t(end) <= 3600 + 900 + 30,
            "{booking} outlived its window: {} (seed {seed})",
            last["removed_at"]
        );
    }
    for (booking, start, end) in MOVED {
        let entries = of(booking);
        assert_eq!(entries.len(), 2, "{booking} moved once (seed {seed}): {entries:?}");
        assert_eq!(
            (entries[0]["start"].as_str(), entries[0]["end"].as_str()),
            (Some(*start), Some(*end)),
            "{booking} first had its original window (seed {seed})"
        );
    }
    for (booking, provider, lock, at) in CANCELLED {
        let entries = of(booking);
        assert_eq!(entries.len(), 1, "{booking} had one code (seed {seed}): {entries:?}");
        assert_eq!((entries[0]["provider"].as_str(), entries[0]["lock"].as_str()), (Some(*provider), Some(*lock)));
        let cancelled = secs(&entries[0]["removed_at"])
            .unwrap_or_else(|| panic!("{booking} deleted after its cancellation (seed {seed})"));
        assert!(cancelled <= t(at) + 3600 + 900, "{booking} deleted promptly (seed {seed})");
    }
    let expected = EXPECTED.len() + MOVED.len() + CANCELLED.len();
    assert_eq!(pins.len(), expected, "nothing else on the locks (seed {seed}): {pins:?}");

    // The due alerts, each exactly once, from the durable outbox.
    let emails = SqliteDb::open(&db).unwrap().tenant("scenario");
    let emails = host_harness::KvStore::emails(&emails).unwrap();
    for (key, at) in ALERTS {
        let sent: Vec<i64> = emails.iter().filter(|e| e.dedup_key == *key).map(|e| e.at).collect();
        let shown: Vec<String> = sent.iter().map(|&at| rfc3339(at)).collect();
        assert_eq!(sent.len(), 1, "{key}: exactly once (seed {seed}): {shown:?}");
        // At 18:00 local on the eve; a write already on its way then is
        // given the seconds it takes to land before the alert goes.
        assert!(
            (t(at)..=t(at) + 300).contains(&sent[0]),
            "{key}: at 18:00 local on the eve, not {shown:?} (seed {seed})"
        );
    }
    let keys: Vec<&str> = emails.iter().map(|e| e.dedup_key.as_str()).collect();
    assert_eq!(keys.len(), ALERTS.len(), "no other e-mail (seed {seed}): {keys:?}");
}
