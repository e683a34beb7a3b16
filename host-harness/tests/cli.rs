//! The `host-harness scenario` command as docs/scenarios.md specifies it: report
//! on stdout (or `--report`), exit 0 when the scenario ran, 2 with a
//! one-line error when the file is unreadable or invalid.

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_host-harness");

fn example(name: &str) -> String {
    format!("{}/../examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn scenario_prints_the_report_on_stdout_and_exits_0() {
    let out = Command::new(BIN).args(["scenario", &example("seed-walkthrough.json")]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("stdout is the JSON report, logs go to stderr");
    let keys: Vec<&str> = report.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["scenario", "steps", "pins", "emails", "events", "http", "ticks"]);
    assert_eq!(report["pins"][0]["added_at"], "2026-03-14T23:00:30Z");
    assert_eq!(
        report["steps"][0],
        serde_json::json!({"at": "2026-03-01T08:00:00Z", "do": "connect", "ok": true, "result": {"account": "Sea View Rentals"}})
    );
}

#[test]
fn scenario_writes_the_report_file_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("report.json");
    let out = Command::new(BIN)
        .args(["scenario", &example("bridge-offline-alert.json"), "--report"])
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "nothing on stdout with --report");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(report["emails"].as_array().unwrap().len(), 1);
}

#[test]
fn unreadable_or_invalid_files_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("missing.json", None),
        ("not-json.json", Some("{ this is not json")),
        ("no-start.json", Some(r#"{"name": "x", "igloohome": {}, "steps": []}"#)),
        (
            "unknown-step.json",
            Some(
                r#"{"name": "x", "start": "2026-01-01T00:00:00Z", "igloohome": {}, "steps": [{"at": "2026-01-01T00:00:00Z", "do": "fly"}, {"at": "2026-01-02T00:00:00Z", "do": "end"}]}"#,
            ),
        ),
        (
            "out-of-order.json",
            Some(
                r#"{"name": "x", "start": "2026-01-02T00:00:00Z", "igloohome": {}, "steps": [{"at": "2026-01-01T00:00:00Z", "do": "end"}]}"#,
            ),
        ),
        ("no-end.json", Some(r#"{"name": "x", "start": "2026-01-01T00:00:00Z", "igloohome": {}, "steps": []}"#)),
    ];
    for (name, content) in cases {
        let path = dir.path().join(name);
        if let Some(text) = content {
            std::fs::write(&path, text).unwrap();
        }
        let out = Command::new(BIN).arg("scenario").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = stderr.lines().last().unwrap_or_default();
        assert!(line.starts_with("error: "), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}: no report");
    }
}

/// A file whose fourth step books check-out before check-in.
const FAILING_STEP: &str = r#"{"name": "backwards", "start": "2026-03-01T08:00:00Z",
  "igloohome": {"accounts": [{"client_id": "c", "client_secret": "s", "name": "A"}],
                "locks": [{"id": "L1", "name": "Front", "bridge": "B1"}], "bridges": [{"id": "B1", "name": "Hall", "online": true}]},
  "steps": [
    {"at": "2026-03-01T08:00:00Z", "do": "connect", "client_id": "c", "client_secret": "s"},
    {"at": "2026-03-01T08:01:00Z", "do": "property", "property": {"id": "p1", "name": "Flat", "timezone": "Europe/Paris"}},
    {"at": "2026-03-01T08:02:00Z", "do": "assign", "property": "p1", "lock": "L1"},
    {"at": "2026-03-01T08:03:00Z", "do": "booking", "booking": {"id": "b1", "property": "p1", "check_in": "2026-03-10", "check_out": "2026-03-08", "status": "confirmed"}},
    {"at": "2026-03-01T08:04:00Z", "do": "booking", "booking": {"id": "b2", "property": "p1", "check_in": "2026-03-02", "check_out": "2026-03-04", "status": "confirmed"}},
    {"at": "2026-03-05T00:00:00Z", "do": "end"}
  ]}"#;

#[test]
fn a_failed_step_is_summarised_on_stderr_by_number_and_strict_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backwards.json");
    std::fs::write(&path, FAILING_STEP).unwrap();
    let out = Command::new(BIN).arg("scenario").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "without --strict the run itself succeeded");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["steps"][3]["ok"], false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("5 steps, 1 failed"), "{stderr}");
    assert!(stderr.contains("step 4 (booking) at 2026-03-01T08:03:00Z failed: booking.check_out"), "{stderr}");
    // b2's code, in Paris time, its PIN masked.
    let pin = report["pins"][0]["pin"].as_str().unwrap();
    assert!(
        stderr.contains("PIN ******, valid Mon 2 Mar 2026 14:30 to Wed 4 Mar 2026 11:30 (Europe/Paris)"),
        "{stderr}"
    );
    assert!(!stderr.contains(pin), "the PIN is masked");
    // Log lines carry the simulated instant.
    assert!(stderr.lines().any(|l| l.starts_with("2026-03-01T08:00:00Z (simulated)")), "{stderr}");

    let strict = Command::new(BIN).args(["scenario", "--strict", "--show-pins"]).arg(&path).output().unwrap();
    assert_eq!(strict.status.code(), Some(1), "--strict: a failed step fails the run");
    let strict_report: Value = serde_json::from_slice(&strict.stdout).unwrap();
    let strict_pin = strict_report["pins"][0]["pin"].as_str().unwrap();
    assert!(String::from_utf8_lossy(&strict.stderr).contains(&format!("PIN {strict_pin}")), "--show-pins");
    let ok = Command::new(BIN)
        .args(["scenario", "--strict", "--quiet", &example("seed-walkthrough.json")])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&ok.stderr).contains("steps,"), "--quiet: no summary");
}

#[test]
fn an_invalid_step_is_named_by_its_number_and_kind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-property.json");
    let text = FAILING_STEP.replace(
        r#""do": "property", "property": {"id": "p1", "name": "Flat", "timezone": "Europe/Paris"}"#,
        r#""do": "property""#,
    );
    std::fs::write(&path, text).unwrap();
    let out = Command::new(BIN).arg("scenario").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().last().unwrap();
    assert!(line.starts_with("error: ") && line.contains("step 2 (property): missing field `property`"), "{line}");
}
