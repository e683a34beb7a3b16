//! R2 for TTLock: the password, its MD5, the access and refresh tokens, the
//! application's secret and the locks' admin secrets appear in no log,
//! report, e-mail, export or storage value other than the credentials and
//! token records.

use std::collections::BTreeSet;

use serde_json::json;

use crate::common::*;
use crate::tt::*;

/// Whether `text` shows `secret`; an all-digit secret (the admin PIN) only
/// as a whole number, not as a piece of a longer one (a timestamp).
fn shows(text: &str, secret: &str) -> bool {
    if !secret.bytes().all(|b| b.is_ascii_digit()) {
        return text.contains(secret);
    }
    text.match_indices(secret).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + secret.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

fn assert_hidden(what: &str, text: &str, secrets: &[(String, String)]) {
    for (name, secret) in secrets {
        assert!(!shows(text, secret), "{name} appears in {what}");
    }
}

#[test]
fn r2_ttlock_no_password_token_app_secret_or_lock_secret_leaks() {
    let mut h = harness_tt();
    let mut tokens: BTreeSet<(String, String)> = BTreeSet::new();
    let mut sample = |h: &host_harness::scenario::Harness| {
        if let Some(t) = stored(h, "token/ttlock") {
            for field in ["access_token", "refresh_token"] {
                if let Some(v) = t[field].as_str() {
                    tokens.insert((field.to_string(), v.to_string()));
                }
            }
        }
    };
    // Every kind of output: refused and accepted connects, assignments,
    // codes created, moved and deleted, a token refresh, a gateway outage
    // with its alert, statuses, renders, a restart.
    let mut reports = drive_reports(
        &mut h,
        &[
            step(START, "connect", json!({"provider": "ttlock", "username": USERNAME, "password": "wrong-password"})),
            tt_connect(START),
        ],
    );
    assert!(!reports[0].ok, "the wrong password is refused: {:?}", reports[0]);
    assert!(reports[1].ok, "the right one connects: {:?}", reports[1]);
    sample(&h);
    let mut steps = vec![
        property("2026-03-01T08:01:00Z", "p1", "Europe/Paris", None, None),
        property("2026-03-01T08:01:00Z", "p2", "Europe/Paris", None, None),
        tt_assign("2026-03-01T08:02:00Z", "p1", LOCK, 5, 30),
        tt_assign("2026-03-01T08:02:00Z", "p2", WIFI_LOCK, 5, 30),
        tt_assign("2026-03-01T08:02:00Z", "p2", BARE_LOCK, 5, 30),
        booking("2026-03-01T09:00:00Z", "b1", "p1", "2026-03-20", "2026-03-22"),
        booking("2026-03-01T09:00:00Z", "b2", "p2", "2026-03-20", "2026-03-22"),
        booking("2026-03-01T09:00:00Z", "b3", "p1", "2026-03-25", "2026-03-27"),
        step("2026-03-10T00:00:00Z", "revoke_tokens", json!({"provider": "ttlock"})),
        end("2026-03-15T06:00:00Z"),
    ];
    let second = drive_reports(&mut h, &steps);
    // Only the lock with neither gateway nor Wi-Fi is refused.
    for r in &second {
        let refused = r.kind == "assign" && r.error.as_deref().is_some_and(|e| e.contains("gateway"));
        assert!(r.ok || refused, "step {} at {} failed: {:?}", r.kind, r.at, r.error);
    }
    assert_eq!(second.iter().filter(|r| !r.ok).count(), 1, "{second:?}");
    reports.extend(second);
    sample(&h);
    steps = vec![
        booking("2026-03-16T10:00:00Z", "b2", "p2", "2026-03-20", "2026-03-23"),
        step("2026-03-16T10:05:00Z", "status", json!({"booking": "b2"})),
        render("2026-03-16T10:06:00Z", "b1"),
        gateway("2026-03-19T20:00:00Z", GATEWAY, false),
        step("2026-03-20T12:00:00Z", "restart", json!({})),
        step("2026-03-24T18:00:00Z", "status", json!({"booking": "b3"})),
        step("2026-03-24T18:00:00Z", "status", json!({"booking": "b1"})),
        gateway("2026-03-25T01:00:00Z", GATEWAY, true),
        end("2026-03-28T00:00:00Z"),
    ];
    reports.extend(drive(&mut h, &steps));
    sample(&h);
    let report = h.report("r2 ttlock", reports).expect("report");
    assert_eq!(report.emails.len(), 1, "the run had an alert: {:?}", report.emails);
    assert!(tokens.len() >= 4, "tokens were issued and refreshed: {tokens:?}");

    let md5 = PASSWORD_MD5.to_string();
    let mut secrets = vec![
        ("the password".to_string(), PASSWORD.to_string()),
        ("the password's MD5".to_string(), md5.clone()),
        ("the app secret".to_string(), APP_SECRET.to_string()),
    ];
    secrets.extend(tokens.iter().map(|(field, v)| (format!("an {field}"), v.clone())));
    let mut lock_secrets = Vec::new();
    for lock in [LOCK, WIFI_LOCK, BARE_LOCK, LOCK2] {
        let names = ["admin PIN", "adminPwd", "lockKey", "aesKeyStr", "lockData"];
        let values = h.world.ttlock().unwrap().lock_secrets(lock);
        assert_eq!(values.len(), names.len());
        for (name, value) in names.iter().zip(values) {
            lock_secrets.push((format!("lock {lock}'s {name}"), value));
        }
    }
    secrets.extend(lock_secrets.iter().cloned());

    // Reports (steps, pins, e-mails) and the e-mails themselves.
    assert_hidden("the report", &report.to_json().to_string(), &secrets);
    for mail in &report.emails {
        assert_hidden("an e-mail", &format!("{}\n{}", mail.subject, mail.body), &secrets);
    }
    // Every export of the panel.
    let exports = format!(
        "{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}",
        h.plugin.accounts(),
        h.plugin.list_locks("ttlock"),
        h.plugin.assignment("p1"),
        h.plugin.assignment("p2"),
        h.plugin.booking_status("b1"),
        h.plugin.booking_status("b2"),
        h.plugin.booking_status("b3"),
        h.plugin.render_variable("smartlock_code", "b3"),
    );
    assert_hidden("an export", &exports, &secrets);
    // Storage: only the credentials and token records hold secrets, and
    // even they hold no more than they must.
    for (key, value) in h.storage.list("", None, 1000).unwrap() {
        let text = String::from_utf8_lossy(&value);
        match key.as_str() {
            "acct/ttlock" => {
                let extra: Vec<_> = secrets
                    .iter()
                    .filter(|(n, _)| *n != "the password's MD5" && *n != "the app secret")
                    .cloned()
                    .collect();
                assert_hidden("the credentials record", &text, &extra);
            }
            "token/ttlock" => {
                assert_hidden("the token record", &text, &secrets[..3]);
                assert_hidden("the token record", &text, &lock_secrets);
            }
            _ => assert_hidden(&format!("storage key {key}"), &text, &secrets),
        }
    }
    // Logs of the whole process (harness, stubs and plugin).
    let logs = logs();
    assert!(logs.contains("TTLock account"), "the plugin's logs are captured");
    assert_hidden("the logs", &logs, &secrets);
}
