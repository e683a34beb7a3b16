//! The runtime (`smartlock_host::Runtime`) with the real plugin component:
//! fresh instances, traps, the instance pool, the compile cache.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use host_harness::{CallError, MemoryStore, Runtime, RuntimeConfig, Tenant};

/// The real plugin, compiled once for all tests of this process.
fn runtime() -> Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| Runtime::new(host_harness::default_runtime_config()).expect("the plugin component loads"))
        .clone()
}

#[test]
fn render_variable_on_an_empty_store_is_none() {
    let runtime = runtime();
    eprintln!("component: {} bytes, loaded in {:?}", runtime.component_size(), runtime.load_time());
    let store = Arc::new(MemoryStore::new());
    let tenant = runtime.tenant(Tenant::new("render-empty", store.clone()));
    for (name, booking) in [("smartlock_code", "b-1"), ("nuki_code", "b-1"), ("unknown", "b-1")] {
        let started = Instant::now();
        assert_eq!(tenant.render_variable(name, booking).unwrap(), None, "{name}");
        eprintln!("render-variable({name}) took {:?}", started.elapsed());
    }
    let started = Instant::now();
    const CALLS: u32 = 20;
    for _ in 0..CALLS {
        assert_eq!(tenant.render_variable("smartlock_code", "b-1").unwrap(), None);
    }
    eprintln!("mean call (fresh instance each): {:?}", started.elapsed() / CALLS);
    assert!(store.entries().is_empty(), "rendering wrote to storage: {:?}", store.entries());
}

#[test]
fn a_trap_fails_one_call_and_the_next_gets_a_fresh_instance() {
    let tenant = runtime().tenant(Tenant::new("trap-then-fresh", Arc::new(MemoryStore::new())));
    let err = tenant.with_call_timeout(Duration::ZERO).render_variable("smartlock_code", "b").unwrap_err();
    match &err {
        CallError::Trap { tenant, message } => {
            assert_eq!(tenant, "trap-then-fresh");
            assert!(message.contains("render-variable") && message.contains("time limit"), "{message}");
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_eq!(tenant.render_variable("smartlock_code", "b").unwrap(), None);
}

#[test]
fn precompiled_component_loads_and_a_memory_cap_below_its_minimum_is_refused() {
    let runtime = runtime();
    let compiled = runtime.serialize().unwrap();
    // SAFETY: the bytes come from `Runtime::serialize` just above.
    let same = unsafe { Runtime::from_precompiled(&compiled, runtime.config().clone()) }.unwrap();
    assert_eq!(
        same.tenant(Tenant::new("pre", Arc::new(MemoryStore::new()))).render_variable("smartlock_code", "b").unwrap(),
        None
    );
    let config = RuntimeConfig { memory_limit: 64 * 1024, ..runtime.config().clone() };
    // SAFETY: as above.
    let err = unsafe { Runtime::from_precompiled(&compiled, config) }.unwrap_err();
    assert!(format!("{err:#}").contains("memory"), "{err:#}");
}

#[test]
fn one_pool_slot_holds_one_call_of_the_plugin() {
    // The pool is sized per component instance (core instances, memories,
    // tables); one slot must fit the real plugin.
    let runtime = runtime();
    let compiled = runtime.serialize().unwrap();
    let config = RuntimeConfig { max_instances: 1, ..runtime.config().clone() };
    // SAFETY: the bytes come from `Runtime::serialize` just above.
    let single = unsafe { Runtime::from_precompiled(&compiled, config) }.unwrap();
    let tenant = single.tenant(Tenant::new("single", Arc::new(MemoryStore::new())));
    for _ in 0..3 {
        assert_eq!(tenant.render_variable("smartlock_code", "b").unwrap(), None);
    }
}

#[test]
fn more_parallel_calls_than_pool_slots_wait_instead_of_failing() {
    let runtime = runtime();
    let compiled = runtime.serialize().unwrap();
    let config = RuntimeConfig { max_instances: 1, ..runtime.config().clone() };
    // SAFETY: the bytes come from `Runtime::serialize` just above.
    let single = unsafe { Runtime::from_precompiled(&compiled, config) }.unwrap();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let tenant = single.tenant(Tenant::new(format!("t{i}"), Arc::new(MemoryStore::new())));
            std::thread::spawn(move || {
                (0..25).all(|_| tenant.render_variable("smartlock_code", "b").is_ok_and(|v| v.is_none()))
            })
        })
        .collect();
    for t in threads {
        assert!(t.join().unwrap(), "every call of four tenants through one slot succeeded");
    }
}

#[test]
fn the_compile_cache_is_written_then_used() {
    use std::os::unix::fs::MetadataExt;
    let dir = std::env::temp_dir().join(format!("host-harness-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = RuntimeConfig { cache_dir: Some(dir.clone()), ..host_harness::default_runtime_config() };
    let first = Runtime::new(config.clone()).unwrap();
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = files[0].clone();
    // The cache file as written: a compile that did not use it would write a
    // new one (a new file renamed into place: a new inode).
    let stamp = |path: &std::path::Path| {
        let m = std::fs::metadata(path).unwrap();
        (m.ino(), m.mtime(), m.mtime_nsec(), m.len())
    };
    let written = stamp(&file);
    let second = Runtime::new(config.clone()).unwrap();
    eprintln!("compiled in {:?}, loaded from the cache in {:?}", first.load_time(), second.load_time());
    assert_eq!(stamp(&file), written, "the cache file was read, not written again");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no other file");
    // Loading the machine code takes a fraction of compiling it.
    assert!(
        second.load_time() * 2 < first.load_time(),
        "loaded from the cache in {:?}, not compiled again (compiling took {:?})",
        second.load_time(),
        first.load_time()
    );
    assert_eq!(
        second.tenant(Tenant::new("cached", Arc::new(MemoryStore::new()))).render_variable("nuki_code", "b").unwrap(),
        None
    );
    // The check above can see a cache that is not used: an unusable file is
    // compiled over and replaced.
    // (Renamed over it, not written into it: `second` still maps the file.)
    let junk = dir.join("junk");
    std::fs::write(&junk, b"not a compiled component").unwrap();
    std::fs::rename(&junk, &file).unwrap();
    let spoilt = stamp(&file);
    let third = Runtime::new(config).unwrap();
    assert_ne!(stamp(&file), spoilt, "an unusable cache file is replaced");
    assert_eq!(stamp(&file).3, written.3, "by the compiled component again");
    assert_eq!(
        third
            .tenant(Tenant::new("recompiled", Arc::new(MemoryStore::new())))
            .render_variable("nuki_code", "b")
            .unwrap(),
        None
    );
    let _ = std::fs::remove_dir_all(&dir);
}
