//! Sandbox limits (SPEC section 5), proven with hostile fixture components.
//!
//! The fixture (`tests/fixtures/hostile`, built by `tests/build.rs`) exports
//! the plugin's world; `render-variable(name, booking-id)` misbehaves
//! according to `name` (loop, hog, panic, forbidden, escape, storage, flood,
//! recurse, exit, random; see the fixture's docs) and `sleep-ok` answers `ok`,
//! which shows that a tenant still works after a failed call.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use host_harness::{
    CallError, HttpBackend, HttpError, HttpRequest, HttpResponse, KvStore, MemoryStore, Runtime, RuntimeConfig,
    SqliteDb, Tenant, TenantHandle, UreqBackend, UreqConfig, VendorRoutes,
};
use tracing_subscriber::util::SubscriberInitExt as _;

/// Plugin time per call for the fixture.
const CALL_TIMEOUT: Duration = Duration::from_millis(300);
/// Linear memory cap per instance for the fixture.
const MEMORY_LIMIT: usize = 32 << 20;

/// The hostile fixture, compiled once per test process.
fn runtime() -> Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            Runtime::new(RuntimeConfig {
                call_timeout: CALL_TIMEOUT,
                memory_limit: MEMORY_LIMIT,
                ..RuntimeConfig::new(std::path::PathBuf::from(env!("HOSTILE_FIXTURE_WASM")))
            })
            .expect("the hostile fixture loads")
        })
        .clone()
}

fn tenant(id: &str) -> TenantHandle {
    tenant_of(&runtime(), id)
}

/// The tenant answers a harmless call normally.
fn assert_next_call_works(handle: &TenantHandle) {
    assert_eq!(handle.render_variable("sleep-ok", "").expect("the call after a trap runs"), Some("ok".to_owned()));
}

/// The call trapped; returns the trap's message.
fn expect_trap(result: Result<Option<String>, CallError>, tenant: &str) -> String {
    match result {
        Err(CallError::Trap { tenant: t, message }) => {
            assert_eq!(t, tenant, "the trap names its tenant");
            message
        }
        other => panic!("expected a trap for tenant {tenant}, got {other:?}"),
    }
}

/// Starts `handle`'s `loop` call on a thread and returns once the loop runs
/// (the fixture sets a marker key in `store` just before it spins), with the
/// call's result and duration to join.
fn start_loop(
    handle: TenantHandle,
    store: &MemoryStore,
) -> std::thread::JoinHandle<(Result<Option<String>, CallError>, Duration)> {
    let looping = std::thread::spawn(move || {
        let started = Instant::now();
        (handle.render_variable("loop", "loop-started"), started.elapsed())
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.get("loop-started").expect("memory store").is_none() {
        assert!(Instant::now() < deadline, "the loop did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    looping
}

/// A listener on a free loopback port that never blocks on accept.
fn listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.set_nonblocking(true).expect("non-blocking listener");
    let port = listener.local_addr().expect("listener address").port();
    (listener, port)
}

fn assert_never_connected(listener: &TcpListener) {
    // Any connection attempt would be in the backlog by now: the call that
    // could have made it has returned.
    std::thread::sleep(Duration::from_millis(50));
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        Ok((_, peer)) => panic!("the plugin reached the listener (from {peer})"),
        Err(e) => panic!("accept failed: {e}"),
    }
}

/// `what=...` lines of the fixture's reports.
fn report(text: &str) -> HashMap<&str, &str> {
    text.lines().filter_map(|line| line.split_once('=')).collect()
}

/// The hostile fixture on a runtime of its own, keeping at most `warm`
/// tenants' instances between calls.
fn runtime_keeping(warm: u32) -> Runtime {
    Runtime::new(RuntimeConfig {
        call_timeout: CALL_TIMEOUT,
        memory_limit: MEMORY_LIMIT,
        warm_instances: warm,
        ..RuntimeConfig::new(std::path::PathBuf::from(env!("HOSTILE_FIXTURE_WASM")))
    })
    .expect("the hostile fixture loads")
}

fn remember(handle: &TenantHandle, tag: &str) -> String {
    handle.render_variable("remember", tag).expect("the call runs").expect("an answer")
}

/// Without warm instances every call starts from a clean instance, though
/// pooled memory stays mapped and is reset in place
/// (`RuntimeConfig::keep_resident_bytes`): no call finds what an earlier
/// one wrote, of its own tenant or another.
#[test]
fn sandbox_a_call_never_sees_the_memory_of_an_earlier_call() {
    let runtime = runtime_keeping(0);
    let (a, b) = (tenant_of(&runtime, "memory-a"), tenant_of(&runtime, "memory-b"));
    for (handle, tag) in [(&a, "secret-of-a-1"), (&a, "secret-of-a-2"), (&b, "secret-of-b"), (&a, "secret-of-a-3")] {
        assert_eq!(remember(handle, tag), "calls before: 0, found: ", "{tag}");
    }
}

/// A tenant's instance is kept for its own next call, never handed to
/// another tenant, dropped when it traps, and the least recently used goes
/// first when more tenants call than are kept.
#[test]
fn sandbox_a_kept_instance_serves_only_its_tenant_and_never_after_a_trap() {
    let runtime = runtime_keeping(1);
    let (a, b) = (tenant_of(&runtime, "warm-a"), tenant_of(&runtime, "warm-b"));
    assert_eq!(remember(&a, "secret-of-a-1"), "calls before: 0, found: ");
    assert_eq!(remember(&a, "secret-of-a-2"), "calls before: 1, found: secret-of-a-1", "kept for a");
    // b gets a fresh instance; a's, the one kept, makes way for b's.
    assert_eq!(remember(&b, "secret-of-b-1"), "calls before: 0, found: ");
    assert_eq!(remember(&a, "secret-of-a-3"), "calls before: 0, found: ", "a's instance was dropped for b's");
    assert_eq!(remember(&a, "secret-of-a-4"), "calls before: 1, found: secret-of-a-3");
    expect_trap(a.render_variable("panic", ""), "warm-a");
    assert_eq!(remember(&a, "secret-of-a-5"), "calls before: 0, found: ", "a trap drops the instance");
}

/// Tenant `id` of `runtime`, with storage of its own.
fn tenant_of(runtime: &Runtime, id: &str) -> TenantHandle {
    runtime.tenant(Tenant::new(id, Arc::new(MemoryStore::new())))
}

#[test]
fn sandbox_infinite_loop_is_interrupted_and_the_next_call_works() {
    let handle = tenant("sandbox-loop");
    let started = Instant::now();
    let message = expect_trap(handle.render_variable("loop", ""), "sandbox-loop");
    let elapsed = started.elapsed();
    eprintln!("infinite loop interrupted after {elapsed:?}: {message}");
    assert!(message.contains("time limit") && message.contains("300ms of plugin time"), "{message}");
    assert!(
        elapsed >= CALL_TIMEOUT.saturating_sub(Duration::from_millis(50)),
        "interrupted before the limit: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(5), "interrupted too late: {elapsed:?}");
    assert_next_call_works(&handle);
}

#[test]
fn sandbox_per_tenant_call_timeout_overrides_the_default() {
    let handle = tenant("sandbox-loop-short").with_call_timeout(Duration::from_millis(50));
    let started = Instant::now();
    let message = expect_trap(handle.render_variable("loop", ""), "sandbox-loop-short");
    let elapsed = started.elapsed();
    eprintln!("infinite loop with a 50 ms limit interrupted after {elapsed:?}");
    // The limit the call was cut at is named in the trap: a count, not a
    // stopwatch a loaded machine could break.
    assert!(message.contains("50ms of plugin time"), "the tenant's shorter limit was not used: {message}");
    assert_next_call_works(&handle);
}

#[test]
fn sandbox_memory_hog_traps_at_the_cap_and_the_next_call_works() {
    let handle = tenant("sandbox-hog");
    let started = Instant::now();
    let message = expect_trap(handle.render_variable("hog", ""), "sandbox-hog");
    eprintln!("memory hog trapped after {:?}: {message}", started.elapsed());
    assert!(message.contains("memory"), "the trap does not name the memory cap: {message}");
    assert!(!message.contains("time limit"), "the hog was stopped by the clock, not the cap: {message}");
    assert_next_call_works(&handle);
}

/// A `MakeWriter` into a shared buffer, for the log of one thread.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

/// Captures this thread's log (the calls run on the caller's thread) while
/// the guard lives; the process-wide subscriber belongs to the other e2e
/// tests.
fn capture_log(filter: &str) -> (LogBuffer, impl Sized) {
    let log = LogBuffer::default();
    let writer = log.clone();
    let guard = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish()
        .set_default();
    (log, guard)
}

#[test]
fn sandbox_panic_fails_the_call_with_the_tenant_named_logs_it_and_the_next_call_works() {
    let handle = tenant("sandbox-panic");
    let (log, _guard) = capture_log("warn");

    let started = Instant::now();
    let result = handle.render_variable("panic", "");
    eprintln!("panic trapped after {:?}: {result:?}", started.elapsed());
    let shown = result.as_ref().map_err(ToString::to_string).expect_err("the panic fails the call");
    assert!(shown.contains("tenant sandbox-panic"), "the error does not name the tenant: {shown}");
    let message = expect_trap(result, "sandbox-panic");
    assert!(message.contains("panic"), "{message}");
    assert!(message.contains("hostile fixture panics on purpose"), "the guest's panic message is missing: {message}");

    let logged = log.text();
    let trap_line = logged
        .lines()
        .find(|line| line.contains("plugin call trapped"))
        .unwrap_or_else(|| panic!("the trap was not logged; log:\n{logged}"));
    assert!(trap_line.contains("ERROR") && trap_line.contains("sandbox-panic"), "{trap_line}");
    assert_next_call_works(&handle);
}

/// Counts the requests that get past the allow-list, then sends them for real.
struct CountingBackend {
    sent: AtomicUsize,
    inner: UreqBackend,
}

impl HttpBackend for CountingBackend {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        self.sent.fetch_add(1, Ordering::SeqCst);
        self.inner.send(request)
    }
}

#[test]
fn sandbox_forbidden_urls_get_forbidden_and_no_connection_is_made() {
    let (listener, port) = listener();
    // The allow-list: only the igloohome origins, routed to the listener as
    // if it were the stub. The fixture names other hosts, and the listener
    // itself, directly.
    let base = format!("http://127.0.0.1:{port}");
    let mut routes = VendorRoutes::new();
    for origin in ["https://auth.igloohome.co", "https://api.igloodeveloper.co"] {
        routes.insert(origin, &base).expect("routes");
    }
    let backend = Arc::new(CountingBackend {
        sent: AtomicUsize::new(0),
        inner: UreqBackend::new(UreqConfig { timeout: Duration::from_secs(2), ..Default::default() }),
    });
    let handle = runtime().tenant(
        Tenant::new("sandbox-forbidden", Arc::new(MemoryStore::new())).with_routes(routes).with_http(backend.clone()),
    );

    let started = Instant::now();
    let text = handle.render_variable("forbidden", &port.to_string()).expect("the call runs").expect("a report");
    eprintln!("forbidden requests answered after {:?}:\n{text}", started.elapsed());
    let outcomes = report(&text);
    for url in ["https://evil.example.com/".to_owned(), format!("http://127.0.0.1:{port}/")] {
        let outcome = outcomes.get(url.as_str()).unwrap_or_else(|| panic!("no outcome for {url}: {text}"));
        assert!(outcome.starts_with("forbidden:"), "{url} was not refused as forbidden: {outcome}");
    }
    assert!(outcomes["https://evil.example.com/"].contains("evil.example.com"), "{text}");
    assert_eq!(backend.sent.load(Ordering::SeqCst), 0, "a refused request reached the HTTP transport");
    assert_never_connected(&listener);
}

#[test]
fn sandbox_escape_finds_no_environment_filesystem_socket_or_clock() {
    let (listener, port) = listener();
    let handle = tenant("sandbox-escape");
    let started = Instant::now();
    let text = handle.render_variable("escape", &port.to_string()).expect("the call runs").expect("a report");
    eprintln!("escape attempts after {:?}:\n{text}", started.elapsed());
    let seen = report(&text);
    let get = |what: &str| *seen.get(what).unwrap_or_else(|| panic!("no {what} in the report: {text}"));

    assert_eq!(get("env"), "ok:0", "the plugin sees environment variables");
    assert!(get("read-dir").starts_with("err:"), "the plugin lists /: {}", get("read-dir"));
    assert!(get("read-passwd").starts_with("err:"), "the plugin reads /etc/passwd: {}", get("read-passwd"));
    assert!(get("tcp").starts_with("err:"), "the plugin opens a socket: {}", get("tcp"));
    assert_never_connected(&listener);
    // No clock of its own either: it cannot import one (R23, checked by
    // `r23_the_plugin_imports_only_its_contract_and_wasi_random`).
}

#[test]
fn sandbox_tenants_storage_namespaces_are_isolated() {
    let path = std::env::temp_dir().join(format!("smartlock-sandbox-{}.sqlite", std::process::id()));
    let db = SqliteDb::open(&path).expect("open the database");
    let store_a = Arc::new(db.tenant("iso-a"));
    let store_b = Arc::new(db.tenant("iso-b"));
    let a = runtime().tenant(Tenant::new("iso-a", store_a.clone()));
    let b = runtime().tenant(Tenant::new("iso-b", store_b.clone()));

    assert_eq!(a.render_variable("storage", "value-a").expect("a runs"), Some("value-a".to_owned()));
    assert_eq!(b.render_variable("storage", "value-b").expect("b runs"), Some("value-b".to_owned()));
    // Each namespace holds its own tenant's write, under the same key.
    assert_eq!(store_a.get("probe").expect("read a"), Some(b"value-a".to_vec()));
    assert_eq!(store_b.get("probe").expect("read b"), Some(b"value-b".to_vec()));
    assert_eq!(db.tenant("iso-c").get("probe").expect("read c"), None);

    drop((a, b, store_a, store_b, db));
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

#[test]
fn sandbox_a_looping_tenant_does_not_stall_other_tenants() {
    let store = Arc::new(MemoryStore::new());
    let stuck = runtime().tenant(Tenant::new("iso-stuck", store.clone()));
    let other = tenant("iso-other");
    assert_next_call_works(&other); // warm up: not timed

    let looping = start_loop(stuck.with_call_timeout(Duration::from_secs(3)), &store);

    // The other tenant's 20 calls all finish while the loop still runs: had
    // they waited for it, the loop would have ended first (its limit is
    // long, so no stopwatch bound is needed).
    let started = Instant::now();
    for _ in 0..20 {
        assert_next_call_works(&other);
    }
    let twenty = started.elapsed();
    assert!(!looping.is_finished(), "the other tenant was stalled until the loop ended: 20 calls took {twenty:?}");
    eprintln!("20 calls of another tenant while one loops: {twenty:?}");

    let (result, looped) = looping.join().expect("the looping thread");
    eprintln!("the looping tenant was interrupted after {looped:?}");
    let message = expect_trap(result, "iso-stuck");
    assert!(message.contains("time limit"), "{message}");
    assert!(message.contains("3s of plugin time") && looped >= Duration::from_millis(2900), "{message} {looped:?}");
}

#[test]
fn sandbox_calls_of_one_tenant_take_turns() {
    let store = Arc::new(MemoryStore::new());
    let first = runtime().tenant(Tenant::new("turns", store.clone()));
    let looping = start_loop(first.with_call_timeout(Duration::from_millis(500)), &store);

    // Another handle of the same tenant id waits for the loop to be cut off.
    let second = tenant("turns");
    let started = Instant::now();
    assert_next_call_works(&second);
    let waited = started.elapsed();
    let (result, looped) = looping.join().expect("the looping thread");
    eprintln!("a call of the same tenant waited {waited:?} for the looping call ({looped:?})");
    expect_trap(result, "turns");
    assert!(waited >= Duration::from_millis(300), "the second call did not wait its turn: {waited:?}");
}

#[test]
fn sandbox_log_floods_are_capped_and_the_call_completes() {
    let handle = tenant("sandbox-flood");
    let (log, _guard) = capture_log("info");
    let started = Instant::now();
    let text = handle.render_variable("flood", "").expect("the call runs").expect("a report");
    let elapsed = started.elapsed();
    eprintln!("20 000 log lines took {elapsed:?}: {text:?}");
    let logged = log.text();
    let flood_lines = logged.lines().filter(|line| line.contains(" flood ")).count();
    assert!(flood_lines > 0 && flood_lines < 20_000, "{flood_lines} plugin log lines were kept");
    assert!(logged.contains("log budget"), "the dropped log lines were not reported");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert_next_call_works(&handle);
}

#[test]
fn sandbox_stack_overflow_and_process_exit_fail_only_that_call() {
    let handle = tenant("sandbox-crash");
    // `exit` has no WASI to call: Rust's std aborts (an unreachable trap).
    for (name, expected) in [("recurse", "call stack exhausted"), ("exit", "unreachable")] {
        let started = Instant::now();
        let message = expect_trap(handle.render_variable(name, ""), "sandbox-crash");
        let last_line = message.lines().last().unwrap_or_default();
        eprintln!("{name} trapped after {:?}: {last_line}", started.elapsed());
        assert!(message.to_lowercase().contains(expected), "{name}: {message}");
        assert_next_call_works(&handle);
    }
}

/// The only WASI the sandbox serves: secure random bytes, fresh each time.
#[test]
fn sandbox_randomness_is_the_one_wasi_interface_and_works() {
    let handle = tenant("sandbox-random");
    let a = handle.render_variable("random", "").expect("the call runs").expect("bytes");
    let b = handle.render_variable("random", "").expect("the call runs").expect("bytes");
    assert_eq!(a.len(), 32, "{a}");
    assert_ne!(a, b, "two draws gave the same bytes");
}

/// R23: the plugin component imports the contract's interfaces and
/// `wasi:random` and nothing else, so a host that links only those gives it
/// nothing else (no environment, exit, stdio, filesystem, sockets or clock).
#[test]
fn r23_the_plugin_imports_only_its_contract_and_wasi_random() {
    let plugin = crate::common::runtime();
    let mut imports = plugin.imports();
    imports.sort();
    let contract = ["clock", "code-events", "email", "http", "log", "scheduler", "storage", "types"]
        .map(|i| format!("pms:smartlock/{i}@0.3.0"))
        .to_vec();
    let mut allowed = contract.clone();
    allowed.push("wasi:random/random@0.2.0".to_owned());
    allowed.sort();
    for name in &imports {
        assert!(allowed.contains(name), "the component imports {name}, beyond its contract: {imports:?}");
    }
    assert!(imports.contains(&"wasi:random/random@0.2.0".to_owned()), "{imports:?}");
    for name in contract.iter().filter(|n| !n.ends_with("/types@0.3.0")) {
        assert!(imports.contains(name), "the component does not import {name}: {imports:?}");
    }
}
