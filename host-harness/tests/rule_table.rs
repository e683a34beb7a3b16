//! The map from the rules (R1..R34, explained in `docs/rules.md`) to the
//! tests that prove them, per brand, generated from the test names into
//! `docs/RULES.md`. Fails when a rule that applies to a brand has no test
//! for it, when a test names a rule that does not exist, or when the
//! committed table is stale (run with `UPDATE_RULE_TABLE=1` to write it).
//!
//! A test proves rule N when its function is named `rN_...`. Its brand is
//! the one its name gives (`rN_nuki_...`, `rN_ttlock_...`, `rN_igloohome_...`),
//! else the one its test binary is about (`tests/e2e` is igloohome's,
//! `tests/nuki` Nuki's, `tests/ttlock` TTLock's, `tests/seam` Seam's); other
//! tests (the service,
//! the sandbox, the Node host) prove rules that do not depend on a brand.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const BRANDS: [&str; 4] = ["igloohome", "nuki", "ttlock", "seam"];
/// The brands every per-brand rule must be proved for; Seam's own suite
/// proves the rules R29 names for it (its column shows them).
const REQUIRED_PER_BRAND: [&str; 3] = ["igloohome", "nuki", "ttlock"];

/// Which rules this repository implements, what each says in a few words,
/// and whether it must be proved once per brand.
const RULES: &[(u32, &str, Scope)] = &[
    (1, "connect checks the credentials with the vendor; nothing is stored on refusal", Scope::PerBrand),
    (2, "no secret in any answer, log, e-mail, report or event", Scope::PerBrand),
    (3, "locks listed with how they reach the cloud; a lock without a way cannot be assigned", Scope::PerBrand),
    (4, "one lock per property, whatever the brand", Scope::Any),
    (5, "days_before 1-14 and margin 0-240, refused whole when out of range", Scope::PerBrand),
    (6, "code created at local midnight days_before days before check-in", Scope::PerBrand),
    (7, "a booking or assignment made after the creation time gets its code at the next tick", Scope::PerBrand),
    (8, "six unguessable random digits, unique on the lock", Scope::PerBrand),
    (9, "check-in/out time: the booking's, else the property's, else 15:00 and 11:00", Scope::PerBrand),
    (10, "valid from check-in minus margin to check-out plus margin, in local time", Scope::PerBrand),
    (11, "failed creation retried hourly until midnight before check-in", Scope::PerBrand),
    (12, "one alert at 18:00 on the eve when the code is still missing", Scope::PerBrand),
    (13, "last-minute bookings tried at once, alerted at once", Scope::PerBrand),
    (14, "a change moves the code keeping its PIN", Scope::PerBrand),
    (15, "a cancelled booking's code is deleted at the next tick", Scope::PerBrand),
    (16, "the code is deleted after check-out plus margin, retried hourly", Scope::PerBrand),
    (17, "a lock change or removal moves or deletes future codes; a guest mid-stay keeps theirs", Scope::PerBrand),
    (18, "disconnect stops all calls to that vendor and leaves codes to expire", Scope::PerBrand),
    (19, "{{smartlock_code}} renders once the code is on the lock", Scope::PerBrand),
    (20, "other template variables are left for other plugins", Scope::PerBrand),
    (21, "a code due now is on the lock within about a minute (wake-ups)", Scope::PerBrand),
    (22, "a second host (Node.js) passes the same scenarios", Scope::Any),
    (23, "the component imports only its contract and wasi:random", Scope::Any),
    (24, "an offline code for the guest when the eve's alert fires (igloohome, TTLock)", Scope::Any),
    (25, "backup codes: spare codes on the lock, one given to a guest whose code is missing on the eve", Scope::Any),
    (26, "shared doors: each booking's code also on up to 4 doors, same PIN where the doors allow", Scope::Any),
    (27, "code events reported through the contract, in order, without the PIN", Scope::Any),
    (28, "lock health: one event per outage of a lock with codes due soon", Scope::Any),
    (29, "Seam as a fourth brand: its scheduling decides what counts as created", Scope::Any),
    (30, "brands as data: forms and allow-lists from the brand list", Scope::Any),
    (31, "a key on every tenant route of the service", Scope::Any),
    (32, "the service's limits: no request crashes or stalls it; secrets off the command line", Scope::Any),
    (33, "one tenant at a time: a booking belongs to exactly one property", Scope::Any),
    (34, "several service processes on PostgreSQL", Scope::Any),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Proved for each brand.
    PerBrand,
    /// Proved once, whatever the brand.
    Any,
    /// Not built yet: listed, no test required (no rule is, today).
    #[allow(dead_code)]
    NotYet,
}

/// Where tests live, and the brand a folder's tests are about.
fn test_folders(root: &Path) -> Vec<(PathBuf, Option<&'static str>)> {
    vec![
        (root.join("tests/e2e"), Some("igloohome")),
        (root.join("tests/nuki"), Some("nuki")),
        (root.join("tests/ttlock"), Some("ttlock")),
        (root.join("tests/seam"), Some("seam")),
        (root.join("host-harness/tests"), None),
        (root.join("host-harness/smartlock-host/tests"), None),
        (root.join("host-harness/smartlock-host/src"), None),
        (root.join("host-harness/src"), None),
        (root.join("plugin/tests"), None),
        (root.join("plugin/src"), None),
    ]
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() && path.file_name().is_some_and(|n| n != "node_modules" && n != "gen") {
            files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// `(rule, test name)` of every `fn rN_...` in `text`.
fn rule_tests(text: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        let Some(rest) = line.strip_prefix("fn r").or_else(|| line.strip_prefix("async fn r")) else { continue };
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let after = &rest[digits.len()..];
        if digits.is_empty() || !after.starts_with('_') {
            continue;
        }
        let name: String =
            format!("r{digits}{}", after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>());
        out.push((digits.parse().unwrap(), name));
    }
    out
}

fn brand_of(name: &str, folder: Option<&'static str>) -> Option<&'static str> {
    let words: Vec<&str> = name.split('_').collect();
    BRANDS.into_iter().find(|b| words.get(1) == Some(b)).or(folder)
}

/// rule -> brand (or "any") -> test names.
type Map = BTreeMap<u32, BTreeMap<&'static str, Vec<String>>>;

fn collect(root: &Path) -> Map {
    let mut map = Map::new();
    for (dir, folder) in test_folders(root) {
        let mut found = Vec::new();
        files(&dir, &mut found);
        found.sort();
        for file in found {
            let text = std::fs::read_to_string(&file).unwrap();
            for (rule, name) in rule_tests(&text) {
                let brand = brand_of(&name, folder).unwrap_or("any");
                map.entry(rule).or_default().entry(brand).or_default().push(name);
            }
        }
    }
    map
}

fn render(map: &Map) -> String {
    let mut s = String::new();
    s.push_str(
        "# Rules and the tests that prove them\n\n\
         Generated by `host-harness/tests/rule_table.rs` from the test names \
         (`rN_…`; `UPDATE_RULE_TABLE=1 cargo test -p host-harness --test rule_table` \
         writes it again). A number is how many tests prove the rule for that brand; \
         \"any\" counts tests that do not depend on a brand (the plugin's unit tests, the service, the sandbox, \
         cross-brand cases). The rules themselves are explained in [rules.md](rules.md).\n\n\
         | rule | what | igloohome | nuki | ttlock | seam | any |\n|---|---|---|---|---|---|---|\n",
    );
    for (n, what, scope) in RULES {
        let tests = map.get(n);
        let count = |b: &str| tests.and_then(|t| t.get(b)).map_or(0, Vec::len);
        let cells: Vec<String> = BRANDS
            .iter()
            .copied()
            .chain(["any"])
            .map(|b| match (scope, count(b)) {
                (Scope::NotYet, 0) => "not yet".to_string(),
                (_, 0) => "–".to_string(),
                (_, c) => c.to_string(),
            })
            .collect();
        let _ = writeln!(s, "| R{n} | {what} | {} |", cells.join(" | "));
    }
    s.push_str("\n## The tests, by rule\n");
    for (n, by_brand) in map {
        let _ = writeln!(s, "\n### R{n}\n");
        for (brand, names) in by_brand {
            for name in names {
                let _ = writeln!(s, "- {brand}: `{name}`");
            }
        }
    }
    s
}

#[test]
fn every_rule_has_a_test_per_brand_and_the_table_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let map = collect(&root);
    let mut missing = Vec::new();
    for (n, _, scope) in RULES {
        let tests = map.get(n);
        let has = |b: &str| tests.and_then(|t| t.get(b)).is_some_and(|v| !v.is_empty());
        match scope {
            Scope::PerBrand => {
                missing.extend(REQUIRED_PER_BRAND.iter().filter(|b| !has(b)).map(|b| format!("R{n} for {b}")))
            }
            Scope::Any => {
                if tests.is_none_or(|t| t.values().all(Vec::is_empty)) {
                    missing.push(format!("R{n}"));
                }
            }
            Scope::NotYet => {}
        }
    }
    let unknown: Vec<u32> = map.keys().copied().filter(|n| !RULES.iter().any(|(r, _, _)| r == n)).collect();
    assert!(unknown.is_empty(), "tests name rules that do not exist: {unknown:?}");
    let table = render(&map);
    let path = root.join("docs/RULES.md");
    if std::env::var_os("UPDATE_RULE_TABLE").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &table).unwrap();
    }
    assert!(missing.is_empty(), "rules without a test: {}", missing.join(", "));
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == table,
        "docs/RULES.md is not the table the test names give: run UPDATE_RULE_TABLE=1 cargo test -p host-harness --test rule_table"
    );
}

#[test]
fn test_names_are_read_with_their_rule_and_brand() {
    let text = "fn r8_nuki_pins() {}\n    async fn r21_x() {}\nfn r_no() {}\nfn rate() {}\nfn r12() {}\n";
    assert_eq!(rule_tests(text), vec![(8, "r8_nuki_pins".to_string()), (21, "r21_x".to_string())]);
    assert_eq!(brand_of("r8_nuki_pins", Some("igloohome")), Some("nuki"));
    assert_eq!(brand_of("r8_pins", Some("ttlock")), Some("ttlock"));
    assert_eq!(brand_of("r31_keys", None), None);
}
