//! Crash consistency: the host process is SIGKILLed at random moments of a
//! five-week scenario and started again from its SQLite file, while the
//! igloohome stub runs as its own process (so the lock-side truth survives
//! the host) with its clock driven by the host over the admin API.
//!
//! Checked at the end, on the stub's truth: every booking that could have
//! had its code has exactly one live PIN at a time with the right window,
//! moved codes kept their PIN, cancelled and finished codes are gone within
//! the retry interval, and the one due alert was sent exactly once.

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
    json!({
        "name": "crash consistency",
        "start": "2026-03-01T08:00:00Z",
        "tick_minutes": 15,
        "igloohome": {
            "accounts": [{"client_id": "crash-id", "client_secret": "crash-secret", "name": "Crash Test"}],
            "locks": [{"id": "L1", "name": "Paris door", "bridge": "B1"}, {"id": "L2", "name": "Lisbon door", "bridge": "B2"}],
            "bridges": [{"id": "B1", "name": "Paris bridge"}, {"id": "B2", "name": "Lisbon bridge"}]
        },
        "steps": [
            s("2026-03-01T08:00:00Z", "connect", json!({"client_id": "crash-id", "client_secret": "crash-secret"})),
            s("2026-03-01T08:01:00Z", "property", json!({"property": {"id": "paris", "name": "Paris flat", "timezone": "Europe/Paris"}})),
            s("2026-03-01T08:01:00Z", "property", json!({"property": {"id": "lisbon", "name": "Lisbon flat", "timezone": "Europe/Lisbon"}})),
            s("2026-03-01T08:02:00Z", "assign", json!({"property": "paris", "lock": "L1", "days_before": 3, "margin_minutes": 30})),
            s("2026-03-01T08:02:00Z", "assign", json!({"property": "lisbon", "lock": "L2", "days_before": 3, "margin_minutes": 60})),
            booking("2026-03-01T09:00:00Z", "b1", "paris", "2026-03-10", "2026-03-12", "confirmed"),
            booking("2026-03-01T09:00:00Z", "b2", "paris", "2026-03-14", "2026-03-17", "confirmed"),
            booking("2026-03-01T09:00:00Z", "b3", "lisbon", "2026-03-11", "2026-03-13", "confirmed"),
            booking("2026-03-01T09:00:00Z", "b4", "lisbon", "2026-03-20", "2026-03-23", "confirmed"),
            booking("2026-03-01T09:00:00Z", "b5", "paris", "2026-03-25", "2026-03-27", "confirmed"),
            booking("2026-03-01T09:00:00Z", "b6", "paris", "2026-03-28", "2026-03-30", "confirmed"),
            booking("2026-03-01T09:00:00Z", "b7", "lisbon", "2026-04-02", "2026-04-04", "confirmed"),
            // b4: the bridge is down from before its creation until after the eve's alert.
            s("2026-03-16T20:00:00Z", "bridge", json!({"bridge": "B2", "online": false})),
            s("2026-03-19T19:30:00Z", "bridge", json!({"bridge": "B2", "online": true})),
            // b5 moves after its code was created; b6 is cancelled after.
            booking("2026-03-23T10:00:00Z", "b5", "paris", "2026-03-26", "2026-03-28", "confirmed"),
            booking("2026-03-26T10:00:00Z", "b6", "paris", "2026-03-28", "2026-03-30", "cancelled"),
            // A flaky hour on Paris's bridge.
            s("2026-03-30T09:00:00Z", "bridge", json!({"bridge": "B1", "online": false})),
            s("2026-03-30T10:00:00Z", "bridge", json!({"bridge": "B1", "online": true})),
            s("2026-04-06T00:00:00Z", "end", json!({}))
        ]
    })
}

/// (booking, final window start, end) in UTC, and whether it ends on a lock.
const EXPECTED: &[(&str, &str, &str)] = &[
    ("b1", "2026-03-10T13:30:00Z", "2026-03-12T10:30:00Z"),
    ("b2", "2026-03-14T13:30:00Z", "2026-03-17T10:30:00Z"),
    ("b3", "2026-03-11T14:00:00Z", "2026-03-13T12:00:00Z"),
    ("b4", "2026-03-20T14:00:00Z", "2026-03-23T12:00:00Z"),
    ("b5", "2026-03-26T13:30:00Z", "2026-03-28T10:30:00Z"),
    ("b7", "2026-04-02T13:00:00Z", "2026-04-04T11:00:00Z"),
];

fn t(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
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

    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    let mut rng = Rng(seed);
    let mut kills = 0;
    let started = Instant::now();
    for _ in 0..80 {
        let mut running = drive().stdout(Stdio::null()).spawn().expect("driver starts");
        std::thread::sleep(Duration::from_millis(20 + rng.below(250)));
        match running.try_wait().unwrap() {
            Some(status) => {
                assert!(status.success(), "the driver failed on its own (seed {seed})");
                break;
            }
            None => {
                running.kill().unwrap(); // SIGKILL
                running.wait().unwrap();
                kills += 1;
            }
        }
    }
    let out = drive().stdout(Stdio::piped()).output().expect("driver runs to the end");
    assert!(out.status.success(), "final run failed (seed {seed})");
    let report: Value = serde_json::from_slice(&out.stdout).expect("report");
    eprintln!("{kills} kills survived in {:?} (seed {seed})", started.elapsed());
    assert!(kills >= 5, "the test should really crash the host (got {kills} kills)");

    let pins = report["pins"].as_array().expect("pins").clone();
    let of = |booking: &str| -> Vec<&Value> {
        pins.iter()
            .filter(|p| p["access_name"].as_str().unwrap_or_default().contains(&format!("({booking})")))
            .collect()
    };
    let secs = |v: &Value| v.as_str().map(t);
    for (booking, start, end) in EXPECTED {
        let entries = of(booking);
        assert!(!entries.is_empty(), "{booking} got a code (seed {seed}): {pins:?}");
        // One PIN per booking, never two entries at once.
        for pair in entries.windows(2) {
            assert_eq!(pair[0]["pin"], pair[1]["pin"], "{booking} kept its PIN");
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
    assert_eq!(of("b5").len(), 2, "b5 moved once (seed {seed})");
    let b6 = of("b6");
    assert_eq!(b6.len(), 1);
    let cancelled = secs(&b6[0]["removed_at"]).expect("b6 deleted after its cancellation");
    assert!(cancelled <= t("2026-03-26T10:00:00Z") + 3600 + 900, "b6 deleted promptly (seed {seed})");
    assert_eq!(pins.len(), EXPECTED.len() + 2, "nothing else on the locks (seed {seed}): {pins:?}");

    // The one due alert (b4), exactly once, from the durable outbox.
    let emails = SqliteDb::open(&db).unwrap().tenant("scenario");
    let emails = host_harness::KvStore::emails(&emails).unwrap();
    assert_eq!(emails.len(), 1, "exactly one alert (seed {seed}): {emails:?}");
    assert_eq!(emails[0].dedup_key, "alert/b4");
    assert_eq!(emails[0].at, t("2026-03-19T18:00:00Z"));
}
