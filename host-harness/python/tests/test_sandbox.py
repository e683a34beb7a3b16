"""The sandbox (SPEC section 5) against the hostile fixture component
(tests/fixtures/hostile; ``cargo test -p smartlock-e2e --no-run`` builds
it): its ``render-variable(name, arg)`` misbehaves by ``name``. As
smartlock-host's sandbox tests: a trap fails only its call and names the
tenant; an endless loop is interrupted by the epoch deadline (plugin time,
not time in the host); memory growth past the cap is refused; only the
vendor routes are reachable; the component finds no environment, files or
sockets; tenants' storage is separate; floods are capped; one tenant's
calls take turns while others run in parallel."""

from __future__ import annotations

import logging
import resource
import socket
import threading
import time
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

import pytest

from smartlock_host import (
    HttpClient,
    HttpRequest,
    HttpResponse,
    MemoryStore,
    Runtime,
    RuntimeConfig,
    SqliteDb,
    Tenant,
    TenantHandle,
    TrapError,
    VendorRoutes,
    Write,
)
from smartlock_host.errors import StorageError

#: Plugin time per call for the fixture, and its memory cap (as the Rust sandbox tests).
CALL_TIMEOUT = 0.3
MEMORY_LIMIT = 32 << 20


@pytest.fixture(scope="module")
def hostile(hostile_path: Path) -> Iterator[Runtime]:
    runtime = Runtime(RuntimeConfig(hostile_path, call_timeout=CALL_TIMEOUT, memory_limit=MEMORY_LIMIT))
    yield runtime
    runtime.close()


def tenant(runtime: Runtime, tenant_id: str, store: Optional[MemoryStore] = None) -> TenantHandle:
    return runtime.tenant(Tenant(tenant_id, store or MemoryStore()))


def next_call_works(handle: TenantHandle) -> None:
    assert handle.render_variable("sleep-ok", "") == "ok", "the call after a trap runs"


def expect_trap(handle: TenantHandle, name: str, arg: str = "") -> TrapError:
    with pytest.raises(TrapError) as trapped:
        handle.render_variable(name, arg)
    error = trapped.value
    assert error.tenant == handle.id, "the trap names its tenant"
    assert f"tenant {handle.id}" in str(error)
    return error


def test_a_panic_fails_the_call_with_the_guest_message_is_logged_and_the_next_call_works(
    hostile: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    handle = tenant(hostile, "sandbox-panic")
    with caplog.at_level(logging.WARNING, logger="smartlock_host"):
        error = expect_trap(handle, "panic")
    assert "render-variable: aborted (unreachable instruction: a panic or abort)" in str(error)
    assert "hostile fixture panics on purpose" in str(error), "the guest's panic message"
    assert not error.host_failure
    trapped = [r for r in caplog.records if r.getMessage().startswith("plugin call trapped")]
    assert trapped and trapped[0].levelno == logging.ERROR and getattr(trapped[0], "tenant") == "sandbox-panic"
    next_call_works(handle)


def test_an_endless_loop_is_interrupted_by_the_epoch_deadline_and_the_next_call_works(hostile: Runtime) -> None:
    handle = tenant(hostile, "sandbox-loop")
    started = time.monotonic()
    error = expect_trap(handle, "loop")
    elapsed = time.monotonic() - started
    assert "interrupted: exceeded the time limit (300ms of plugin time, 60s in all)" in str(error), str(error)
    assert CALL_TIMEOUT - 0.05 <= elapsed < 5, elapsed
    next_call_works(handle)


def test_a_handle_with_a_shorter_limit_is_cut_at_its_own(hostile: Runtime) -> None:
    handle = tenant(hostile, "sandbox-loop-short").with_call_timeout(0.05)
    assert "50ms of plugin time" in str(expect_trap(handle, "loop"))
    next_call_works(handle)


class SlowStore(MemoryStore):
    """Every write takes ``delay`` seconds in the host."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def apply(self, writes: Sequence[Write]) -> None:
        time.sleep(self.delay)
        super().apply(writes)


def test_time_in_the_host_is_not_plugin_time_but_counts_against_the_calls_wall_limit(hostile_path: Path) -> None:
    # The loop's marker write waits a second in the host; the loop still gets
    # its full 300 ms of plugin time afterwards.
    runtime = Runtime(RuntimeConfig(hostile_path, call_timeout=CALL_TIMEOUT))
    slow = runtime.tenant(Tenant("sandbox-slow-host", SlowStore(1.0)))
    started = time.monotonic()
    error = expect_trap(slow, "loop", "marker")
    elapsed = time.monotonic() - started
    assert "300ms of plugin time" in str(error)
    assert elapsed >= 1.0 + CALL_TIMEOUT - 0.05, f"the host's second was counted as plugin time: {elapsed:.2f}s"
    # The call's wall limit counts everything: a 0.5 s call cannot loop 5 s.
    walled = Runtime(RuntimeConfig(hostile_path, call_timeout=5.0, call_wall_limit=0.5))
    started = time.monotonic()
    error = expect_trap(walled.tenant(Tenant("sandbox-walled", MemoryStore())), "loop")
    assert "(5s of plugin time, 500ms in all)" in str(error), str(error)
    assert time.monotonic() - started < 2
    runtime.close()
    walled.close()


def test_a_memory_hog_is_refused_at_the_cap_and_the_next_call_works(hostile: Runtime) -> None:
    handle = tenant(hostile, "sandbox-hog")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    error = expect_trap(handle, "hog")
    elapsed = time.monotonic() - started
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    # Growth past the cap is refused (memory.grow answers -1): the guest's
    # allocator aborts at once. Uncapped it would take 4 GiB, the wasm32 limit.
    assert "time limit" not in str(error), f"stopped by the clock, not the cap: {error}"
    assert "aborted" in str(error), str(error)
    assert elapsed < 5, elapsed
    assert grown_mib < 4 * MEMORY_LIMIT / (1 << 20), f"the process grew {grown_mib:.0f} MiB"
    next_call_works(handle)


def test_stack_exhaustion_and_exit_fail_only_that_call(hostile: Runtime) -> None:
    handle = tenant(hostile, "sandbox-crash")
    # `exit` has no WASI to call (R23): Rust's std aborts, an unreachable trap.
    for name, expected in (("recurse", "call stack exhausted"), ("exit", "unreachable")):
        assert expected in str(expect_trap(handle, name)).lower(), name
        next_call_works(handle)


class Counting:
    """A transport that counts what gets past the allow-list."""

    def __init__(self) -> None:
        self.sent: List[HttpRequest] = []
        self.inner = HttpClient(timeout=2)

    def send(self, request: HttpRequest) -> HttpResponse:
        self.sent.append(request)
        return self.inner.send(request)


def listener() -> Tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.setblocking(False)
    return sock, sock.getsockname()[1]


def never_connected(sock: socket.socket) -> None:
    time.sleep(0.05)
    with pytest.raises(BlockingIOError):
        sock.accept()


def test_only_the_vendor_routes_are_reachable_other_urls_are_forbidden_without_a_connection(hostile: Runtime) -> None:
    sock, port = listener()
    try:
        counting = Counting()
        # Only igloohome's origins, routed to the listener as if it were the stub.
        base = f"http://127.0.0.1:{port}"
        routes = VendorRoutes([("https://auth.igloohome.co", base), ("https://api.igloodeveloper.co", base)])
        handle = hostile.tenant(Tenant("sandbox-forbidden", MemoryStore(), http=counting, routes=routes))
        text = handle.render_variable("forbidden", str(port))
        assert text is not None
        lines = dict(line.split("=", 1) for line in text.splitlines())
        assert lines["https://evil.example.com/"] == "forbidden:host evil.example.com is not allowed"
        assert lines[f"http://127.0.0.1:{port}/"] == "forbidden:host 127.0.0.1 is not allowed"
        assert counting.sent == [], "a refused request reached the transport"
        never_connected(sock)
    finally:
        sock.close()


def test_the_component_finds_no_environment_files_or_sockets(hostile: Runtime) -> None:
    sock, port = listener()
    try:
        text = tenant(hostile, "sandbox-escape").render_variable("escape", str(port))
        assert text is not None
        seen = dict(line.split("=", 1) for line in text.splitlines())
        assert seen["env"] == "ok:0", "the plugin sees environment variables"
        for what in ("read-dir", "read-passwd", "tcp"):
            assert seen[what].startswith("err:"), f"{what}: {seen[what]}"
        never_connected(sock)
    finally:
        sock.close()


def test_randomness_is_the_one_wasi_interface_and_works(hostile: Runtime) -> None:
    handle = tenant(hostile, "sandbox-random")
    a, b = handle.render_variable("random", ""), handle.render_variable("random", "")
    assert a is not None and len(a) == 32 and a != b


def test_tenants_storage_namespaces_are_isolated(hostile: Runtime, tmp_path: Path) -> None:
    with SqliteDb(tmp_path / "iso.sqlite") as db:
        a = hostile.tenant(Tenant("iso-a", db.tenant("iso-a")))
        b = hostile.tenant(Tenant("iso-b", db.tenant("iso-b")))
        assert a.render_variable("storage", "value-a") == "value-a"
        assert b.render_variable("storage", "value-b") == "value-b"
        assert db.tenant("iso-a").get("probe") == b"value-a"
        assert db.tenant("iso-b").get("probe") == b"value-b"
        assert db.tenant("iso-c").get("probe") is None


class BrokenGet(MemoryStore):
    def get(self, key: str) -> Optional[bytes]:
        raise StorageError("unavailable", "disk on fire")


def test_a_storage_failure_reaches_the_guest_as_storage_error_not_a_trap(hostile: Runtime) -> None:
    """storage.get's error case: wasmtime-py alone would take it for `ok`
    and trap; the host lowers it as `err` (smartlock_host._compat)."""
    handle = tenant(hostile, "sandbox-broken-get", BrokenGet())
    assert handle.render_variable("storage", "x") == 'get failed: StorageError::Unavailable("disk on fire")'


class Exploding(MemoryStore):
    def apply(self, writes: Sequence[Write]) -> None:
        raise KeyError("a bug in the host")


def test_an_exception_in_an_import_fails_only_that_call_and_says_which_import(hostile: Runtime) -> None:
    handle = tenant(hostile, "sandbox-host-bug", Exploding())
    error = expect_trap(handle, "storage", "x")
    assert error.host_failure
    assert "render-variable: host import storage.set failed: 'a bug in the host'" in str(error), str(error)
    next_call_works(handle)


def test_log_floods_are_capped_and_the_call_completes(hostile: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    # A longer limit: the test is about the cap, and 20,000 imports cost
    # wasmtime-py's glue about 6 µs each (plugin time) on a loaded machine.
    handle = tenant(hostile, "sandbox-flood").with_call_timeout(5.0)
    with caplog.at_level(logging.INFO, logger="smartlock_host"):
        started = time.monotonic()
        assert handle.render_variable("flood", "") == "flooded"
        elapsed = time.monotonic() - started
    flood = [r for r in caplog.records if r.name == "smartlock_host.plugin" and r.getMessage().startswith("flood ")]
    assert 0 < len(flood) <= 10_000, f"{len(flood)} plugin lines kept"
    assert any("log budget of 10000 lines per call spent" in r.getMessage() for r in caplog.records)
    assert elapsed < 10, elapsed
    next_call_works(handle)


def start_loop(handle: TenantHandle, store: MemoryStore) -> Tuple[threading.Thread, List[object]]:
    """Starts ``handle``'s loop on a thread; returns once it spins."""
    outcome: List[object] = []

    def run() -> None:
        started = time.monotonic()
        try:
            handle.render_variable("loop", "loop-started")
        except TrapError as e:
            outcome.append(e)
        outcome.append(time.monotonic() - started)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 10
    while store.get("loop-started") is None:
        assert time.monotonic() < deadline, "the loop did not start"
        time.sleep(0.005)
    return thread, outcome


def test_a_looping_tenant_does_not_stall_other_tenants(hostile: Runtime) -> None:
    store = MemoryStore()
    stuck = tenant(hostile, "iso-stuck", store).with_call_timeout(3.0)
    other = tenant(hostile, "iso-other")
    next_call_works(other)
    thread, outcome = start_loop(stuck, store)
    for _ in range(20):
        next_call_works(other)
    assert thread.is_alive(), "the other tenant waited for the loop to end"
    thread.join()
    assert isinstance(outcome[0], TrapError) and "3s of plugin time" in str(outcome[0])


def test_calls_of_one_tenant_take_turns(hostile: Runtime) -> None:
    store = MemoryStore()
    first = tenant(hostile, "turns", store).with_call_timeout(0.5)
    thread, outcome = start_loop(first, store)
    second = tenant(hostile, "turns")  # another handle of the same tenant id
    started = time.monotonic()
    next_call_works(second)
    waited = time.monotonic() - started
    thread.join()
    assert isinstance(outcome[0], TrapError)
    assert waited >= 0.3, f"the second call did not wait its turn: {waited:.2f}s"
