//! One conformance suite for every `KvStore` backend: memory, SQLite and
//! PostgreSQL. Each contract runs against each backend; the PostgreSQL runs
//! need a server (`SMARTLOCK_TEST_PG`, set by `.ci/run`) and say so on
//! stderr when there is none — and fail in CI instead (see
//! `smartlock_host::imports::postgres::testing`).
//!
//! Then what only PostgreSQL has: the prefix listing is an index range
//! scan, turns serialise a tenant across processes (and a session cut off
//! by the server can no longer write), and due ticks are claimed once.

#[cfg(feature = "postgres")]
use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
#[cfg(feature = "postgres")]
use std::time::{Duration, Instant};

#[cfg(feature = "postgres")]
use smartlock_host::imports::postgres::testing;
use smartlock_host::imports::storage::{MAX_KEY_BYTES, MAX_LIST_LIMIT, MAX_VALUE_BYTES};
#[cfg(feature = "postgres")]
use smartlock_host::{Fence, PgDb};
use smartlock_host::{KvStore, MemoryStore, SqliteDb, StorageError, Write};

/// Makes a fresh namespace of a backend, by name.
type Factory = Box<dyn Fn(&str) -> Arc<dyn KvStore>>;

fn backends(label: &str) -> Vec<(&'static str, Factory)> {
    let mut out: Vec<(&'static str, Factory)> =
        vec![("memory", Box::new(|_: &str| Arc::new(MemoryStore::new()) as Arc<dyn KvStore>))];
    let dir = tempfile::tempdir().expect("temp dir").keep();
    let sqlite = SqliteDb::open(dir.join("conformance.sqlite")).expect("SQLite");
    out.push(("sqlite", Box::new(move |t: &str| Arc::new(sqlite.tenant(t)) as Arc<dyn KvStore>)));
    #[cfg(feature = "postgres")]
    if let Some(url) = testing::fresh_database(label) {
        let pg = PgDb::open(&url).expect("PostgreSQL");
        out.push(("postgres", Box::new(move |t: &str| Arc::new(pg.tenant(t)) as Arc<dyn KvStore>)));
    }
    #[cfg(not(feature = "postgres"))]
    let _ = label;
    out
}

fn keys(entries: Vec<(String, Vec<u8>)>) -> Vec<String> {
    entries.into_iter().map(|(k, _)| k).collect()
}

fn set(store: &dyn KvStore, key: &str) {
    store.set(key, key.as_bytes()).unwrap_or_else(|e| panic!("set {key:?}: {e}"));
}

/// Keys come back in the order of their UTF-8 bytes, whatever the
/// characters: NUL and control bytes, accents, the end of the BMP, emoji.
fn byte_order(store: &dyn KvStore) {
    let mut all = vec![
        "k/",
        "k/\0",
        "k/\0\0",
        "k/\u{1}",
        "k/\u{1}x",
        "k/A",
        "k/Z",
        "k/a",
        "k/z",
        "k/~",
        "k/\u{7f}",
        "k/é",
        "k/ü",
        "k/ß",
        "k/€",
        "k/\u{FFFF}",
        "k/😀",
        "k/\u{10FFFF}",
        "k/a\0b",
        "k/a b",
        "k/aé",
        "k/0",
        "k/9",
        "k/É",
    ];
    for key in &all {
        set(store, key);
    }
    all.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let listed = keys(store.list("k/", None, 1000).unwrap());
    assert_eq!(listed, all);
    // Page by page gives the same, each page starting after the last key.
    let mut paged = Vec::new();
    loop {
        let page = keys(store.list("k/", paged.last().map(String::as_str), 5).unwrap());
        if page.is_empty() {
            break;
        }
        paged.extend(page);
    }
    assert_eq!(paged, all);
    // Values come back as stored, NUL keys included.
    assert_eq!(store.get("k/a\0b").unwrap().as_deref(), Some("k/a\0b".as_bytes()));
    assert_eq!(keys(store.list("k/\0", None, 10).unwrap()), ["k/\0", "k/\0\0"]);
    assert_eq!(keys(store.list("k/\u{1}", None, 10).unwrap()), ["k/\u{1}", "k/\u{1}x"]);
    assert_eq!(keys(store.list("k/a", None, 10).unwrap()), ["k/a", "k/a\0b", "k/a b", "k/aé"]);
    assert_eq!(keys(store.list("k/\u{10FFFF}", None, 10).unwrap()), ["k/\u{10FFFF}"]);
}

/// `%` and `_` (LIKE's wildcards) and `\` in a prefix are plain characters.
fn wildcard_prefixes(store: &dyn KvStore) {
    for key in ["a%b", "a%", "a_b", "a_", "axb", "ab", "a\\b", "a\\%", "a", "b%"] {
        set(store, key);
    }
    assert_eq!(keys(store.list("a%", None, 100).unwrap()), ["a%", "a%b"]);
    assert_eq!(keys(store.list("a_", None, 100).unwrap()), ["a_", "a_b"]);
    assert_eq!(keys(store.list("a\\", None, 100).unwrap()), ["a\\%", "a\\b"]);
    assert_eq!(keys(store.list("%", None, 100).unwrap()), Vec::<String>::new());
    assert_eq!(keys(store.list("_", None, 100).unwrap()), Vec::<String>::new());
    assert_eq!(store.list("a", None, 100).unwrap().len(), 9);
    assert_eq!(keys(store.list("a%", Some("a%"), 100).unwrap()), ["a%b"]);
}

/// The listing contract: start-after, limits, empty prefix.
fn listing(store: &dyn KvStore) {
    for key in ["due/0002", "due/0001", "due/", "due0", "du", "due/0010", "duf"] {
        set(store, key);
    }
    assert_eq!(keys(store.list("due/", None, 100).unwrap()), ["due/", "due/0001", "due/0002", "due/0010"]);
    assert_eq!(keys(store.list("due/", None, 2).unwrap()), ["due/", "due/0001"]);
    assert_eq!(keys(store.list("due/", Some("due/0001"), 2).unwrap()), ["due/0002", "due/0010"]);
    // A start-after before the prefix is the same as none; after it, nothing.
    assert_eq!(keys(store.list("due/", Some("a"), 1).unwrap()), ["due/"]);
    assert!(store.list("due/", Some("zzz"), 10).unwrap().is_empty());
    assert!(store.list("due/", None, 0).unwrap().is_empty());
    assert_eq!(store.list("", None, 1000).unwrap().len(), 7);
    assert_eq!(keys(store.list("", Some("due0"), 10).unwrap()), ["duf"]);
    assert_eq!(store.get("due/0001").unwrap().as_deref(), Some(&b"due/0001"[..]));
    assert_eq!(store.get("nothing").unwrap(), None);
    store.delete("due/0001").unwrap();
    store.delete("never-there").unwrap();
    assert_eq!(store.get("due/0001").unwrap(), None);
}

/// A batch is applied whole, in order, or not at all.
fn atomic_apply(store: &dyn KvStore) {
    store.set("a", b"1").unwrap();
    store.set("b", b"2").unwrap();
    store
        .apply(&[
            Write::Set { key: "c".into(), value: b"3".to_vec() },
            Write::Delete { key: "a".into() },
            Write::Set { key: "c".into(), value: b"4".to_vec() },
            Write::Set { key: "d".into(), value: Vec::new() },
            Write::Delete { key: "d".into() },
            Write::Set { key: "a".into(), value: b"again".to_vec() },
        ])
        .unwrap();
    assert_eq!(keys(store.list("", None, 10).unwrap()), ["a", "b", "c"]);
    assert_eq!(store.get("a").unwrap().as_deref(), Some(&b"again"[..]));
    assert_eq!(store.get("c").unwrap().as_deref(), Some(&b"4"[..]));
    store.apply(&[]).unwrap();
    // One oversized write refuses the whole batch.
    let refused = store.apply(&[
        Write::Delete { key: "b".into() },
        Write::Set { key: "e".into(), value: vec![0; MAX_VALUE_BYTES + 1] },
    ]);
    assert!(matches!(refused, Err(StorageError::TooLarge(_))), "{refused:?}");
    assert_eq!(keys(store.list("", None, 10).unwrap()), ["a", "b", "c"]);
}

/// Readers never see half a batch: a writer moves a pair of keys together.
fn atomic_apply_concurrently(store: Arc<dyn KvStore>) {
    store
        .apply(&[
            Write::Set { key: "x".into(), value: b"0".to_vec() },
            Write::Set { key: "y".into(), value: b"0".to_vec() },
        ])
        .unwrap();
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            for i in 1..=150u32 {
                let v = i.to_string().into_bytes();
                store
                    .apply(&[
                        Write::Set { key: "x".into(), value: v.clone() },
                        Write::Set { key: "y".into(), value: v },
                    ])
                    .unwrap();
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() || reads == 0 {
        let pair = store.list("", None, 10).unwrap();
        assert_eq!(pair.len(), 2);
        assert_eq!(pair[0].1, pair[1].1, "a reader saw half a batch: {pair:?}");
        reads += 1;
    }
    writer.join().unwrap();
    assert_eq!(store.get("y").unwrap().as_deref(), Some(&b"150"[..]));
}

fn limits(store: &dyn KvStore) {
    let long_key = "k".repeat(MAX_KEY_BYTES + 1);
    assert!(matches!(store.set(&long_key, b"v"), Err(StorageError::TooLarge(_))));
    assert!(matches!(store.get(&long_key), Err(StorageError::TooLarge(_))));
    assert!(matches!(store.delete(&long_key), Err(StorageError::TooLarge(_))));
    assert!(matches!(store.list(&long_key, None, 1), Err(StorageError::TooLarge(_))));
    assert!(matches!(store.list("", Some(&long_key), 1), Err(StorageError::TooLarge(_))));
    assert!(matches!(store.set("v", &vec![1; MAX_VALUE_BYTES + 1]), Err(StorageError::TooLarge(_))));
    assert!(matches!(store.list("", None, MAX_LIST_LIMIT + 1), Err(StorageError::TooLarge(_))));
    // At the limits exactly: accepted, and read back whole. A key of
    // multi-byte characters is measured in bytes.
    let max_key = "é".repeat(MAX_KEY_BYTES / 2);
    store.set(&max_key, &vec![7; MAX_VALUE_BYTES]).unwrap();
    assert_eq!(store.get(&max_key).unwrap().map(|v| v.len()), Some(MAX_VALUE_BYTES));
    assert!(store.list("", None, MAX_LIST_LIMIT).is_ok());
    assert!(store.get(&long_key[..MAX_KEY_BYTES]).unwrap().is_none());
}

fn outbox(store: &dyn KvStore) {
    assert!(store.record_email("alert/b1", 10, "s1", "body1").unwrap());
    assert!(store.record_email("alert/b2", 20, "s2", "body ü €").unwrap());
    assert!(!store.record_email("alert/b1", 30, "again", "again").unwrap());
    let emails = store.emails().unwrap();
    assert_eq!(emails.len(), 2);
    assert_eq!((emails[0].at, emails[0].dedup_key.as_str(), emails[0].subject.as_str()), (10, "alert/b1", "s1"));
    assert_eq!((emails[1].dedup_key.as_str(), emails[1].body.as_str()), ("alert/b2", "body ü €"));
}

/// Eight threads record the same e-mail at once: exactly one wins.
fn outbox_concurrently(store: Arc<dyn KvStore>) {
    let barrier = Arc::new(Barrier::new(8));
    let wins: usize = (0..8)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                store.record_email("alert/race", i, "subject", "body").unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|won| *won)
        .count();
    assert_eq!(wins, 1);
    assert_eq!(store.emails().unwrap().len(), 1);
}

fn namespaces(make: &Factory) {
    let (a, b) = (make("tenant-a"), make("tenant-b"));
    // MemoryStore namespaces are separate objects; the databases key rows by tenant.
    set(&*a, "k/1");
    set(&*b, "k/2");
    assert_eq!(keys(a.list("k/", None, 10).unwrap()), ["k/1"]);
    assert_eq!(b.get("k/1").unwrap(), None);
    assert!(a.record_email("x", 1, "s", "b").unwrap());
    assert!(b.record_email("x", 1, "s", "b").unwrap());
    assert_eq!(a.emails().unwrap().len(), 1);
}

#[test]
fn every_backend_keeps_the_storage_contract() {
    for (name, make) in backends("contract") {
        eprintln!("storage contract: {name}");
        byte_order(&*make("t-order"));
        wildcard_prefixes(&*make("t-wild%_"));
        listing(&*make("t-list"));
        atomic_apply(&*make("t-apply"));
        atomic_apply_concurrently(make("t-apply-concurrent"));
        limits(&*make("t-limits"));
        outbox(&*make("t-outbox"));
        outbox_concurrently(make("t-outbox-race"));
        namespaces(&make);
    }
}

// ---- PostgreSQL only (feature `postgres`, on in the workspace's build) ------

#[cfg(feature = "postgres")]
#[test]
fn postgres_prefix_listing_is_an_index_range_scan_in_byte_order() {
    let Some(url) = testing::fresh_database("plan") else { return };
    let _db = PgDb::open(&url).unwrap();
    let mut client = testing::client(&url);
    client.batch_execute("SET enable_seqscan = off; ANALYZE smartlock_kv").unwrap();
    let plan: Vec<String> = client
        .query(
            "EXPLAIN SELECT key, value FROM smartlock_kv WHERE tenant = $1 AND key >= $2 AND key < $3 ORDER BY key LIMIT 10",
            &[&"t", &"due/", &"due0"],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("Index Scan using smartlock_kv_pkey"), "{plan}");
    assert!(plan.contains("key >=") && plan.contains("key <"), "the range is an index condition: {plan}");
    assert!(!plan.contains("Sort"), "the index gives the order: {plan}");
    let collations: Vec<String> = client
        .query(
            "SELECT c.collname::text FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
             WHERE a.attrelid = 'smartlock_kv'::regclass AND a.attname IN ('tenant', 'key')",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(collations, ["C", "C"]);
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_turns_serialise_a_tenant_across_processes_and_a_cut_off_session_writes_nothing() {
    let Some(url) = testing::fresh_database("turns") else { return };
    // Two "processes": two databases handles with their own pools.
    let (p1, p2) = (PgDb::open(&url).unwrap(), PgDb::open(&url).unwrap());
    let (f1, f2) = (Fence::new(), Fence::new());
    let (s1, s2) = (p1.tenant_fenced("acme", &f1), p2.tenant_fenced("acme", &f2));
    // Outside a turn a fenced store reads but does not write.
    assert!(s1.get("k").unwrap().is_none());
    assert!(matches!(s1.set("k", b"v"), Err(StorageError::Unavailable(_))));

    let turn = p1.begin_turn("acme", &f1, "process-1").unwrap();
    assert_eq!(turn.previous_holder(), None);
    s1.set("k", b"one").unwrap();
    f1.check().unwrap();
    // Process 2 waits for the turn while process 1 holds it.
    let waiter = {
        let (p2, f2) = (p2.clone(), f2.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            let turn = p2.begin_turn("acme", &f2, "process-2").unwrap();
            (started.elapsed(), turn.previous_holder().map(str::to_owned), turn)
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    assert!(!waiter.is_finished(), "process 2 got the turn while process 1 held it");
    turn.release(Some(Some(1234))).unwrap();
    let (waited, previous, turn2) = waiter.join().unwrap();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert_eq!(previous, None, "process 1 released cleanly");
    assert_eq!(p1.schedule_of("acme").unwrap(), Some((Some(1234), 1234)));
    s2.set("k", b"two").unwrap();
    // Process 1 is out of its turn: no more writes from it.
    assert!(s1.set("k", b"stale").is_err());
    drop(turn2);

    // Process 1 takes the turn again; the server cuts its session off
    // (pg_terminate_backend) in the middle of the call.
    let _turn = p1.begin_turn("acme", &f1, "process-1").unwrap();
    s1.set("k", b"three").unwrap();
    let mut admin = testing::client(&url);
    let cut = admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()",
            &[],
        )
        .unwrap();
    assert_eq!(cut, 1, "one session held the tenant's lock");
    // Its lock is gone: process 2 takes the turn at once, and learns that
    // the last holder did not release it.
    let started = Instant::now();
    let turn2 = p2.begin_turn("acme", &f2, "process-2").unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(turn2.previous_holder(), Some("process-1"));
    // The stale call in process 1 can no longer write, nor check its turn.
    assert!(s1.set("k", b"stale").is_err());
    assert!(s1.apply(&[Write::Delete { key: "k".into() }]).is_err());
    assert!(s1.record_email("alert/stale", 1, "s", "b").is_err());
    assert!(f1.check().is_err());
    assert_eq!(s2.get("k").unwrap().as_deref(), Some(&b"three"[..]));
    assert!(s2.emails().unwrap().is_empty());
    turn2.release(None).unwrap();
    // Process 1's pool recovers: its next turn works on a new connection.
    drop(_turn);
    let turn = p1.begin_turn("acme", &f1, "process-1").unwrap();
    assert_eq!(turn.previous_holder(), None);
    s1.set("k", b"four").unwrap();
    turn.release(None).unwrap();
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_due_ticks_are_claimed_by_exactly_one_process() {
    let Some(url) = testing::fresh_database("claims") else { return };
    let processes: Vec<PgDb> = (0..3).map(|_| PgDb::open(&url).unwrap()).collect();
    for i in 0..60 {
        processes[0].schedule_add(&format!("t{i:02}"), 100).unwrap();
    }
    processes[0].set_wake_up("t05", Some(50)).unwrap();
    processes[0].set_wake_up("t07", Some(5_000)).unwrap();
    assert_eq!(processes[0].next_due().unwrap(), Some(50));
    // At 60 only t05's wake-up is due.
    assert_eq!(processes[1].claim_due(60, 30, 300, 8).unwrap(), ["t05"]);
    assert!(processes[2].claim_due(60, 30, 300, 8).unwrap().is_empty(), "claimed already");
    // At 100 every backstop is due: three processes claim concurrently,
    // each tenant exactly once.
    let barrier = Arc::new(Barrier::new(3));
    let claimed: Vec<Vec<String>> = processes
        .iter()
        .map(|p| {
            let (p, barrier) = (p.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let mut mine = Vec::new();
                loop {
                    let batch = p.claim_due(100, 30, 300, 4).unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch);
                }
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let all: Vec<&String> = claimed.iter().flatten().collect();
    let distinct: BTreeSet<&String> = all.iter().copied().collect();
    assert_eq!(all.len(), 60, "{claimed:?}");
    assert_eq!(distinct.len(), 60);
    assert!(claimed.iter().filter(|c| !c.is_empty()).count() >= 2, "the work is spread: {claimed:?}");
    // Claimed: due again at the lease (t05's lease of 90 was due at 100
    // too: 100 + 30) or at the next backstop; a later wake-up stays.
    assert_eq!(processes[0].schedule_of("t05").unwrap(), Some((Some(130), 400)));
    assert_eq!(processes[0].schedule_of("t07").unwrap(), Some((Some(5_000), 400)));
    assert_eq!(processes[0].next_due().unwrap(), Some(130));
}
