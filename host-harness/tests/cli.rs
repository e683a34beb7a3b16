//! The `host-harness scenario` command as SCENARIOS.md specifies it: report
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
    assert_eq!(&keys[..5], ["scenario", "steps", "pins", "emails", "http"]);
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
