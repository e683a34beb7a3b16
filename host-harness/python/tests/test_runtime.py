"""The real plugin component in this host: it imports only its contract and
wasi:random (R23) and the host links nothing else; the plugin's refusals
arrive as typed errors with smartlock-host's sentences; wake-ups are
recorded; a restart and the compile cache keep working; a component that
imports anything more is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator, Tuple

import pytest
from smartlock_host import (
    Booking,
    BookingEvent,
    CredentialsRejected,
    HttpClient,
    IgloohomeCredentials,
    InvalidInput,
    LockNotRemote,
    MemoryStore,
    NotConnected,
    NotFound,
    PluginError,
    Property,
    Runtime,
    RuntimeConfig,
    SimClock,
    Tenant,
    TenantHandle,
    VendorRoutes,
    contract,
)
from smartlock_host.contract import FieldError, error_sentence
from smartlock_host.errors import InstantiateError
from smartlock_host.runtime import _IMPORTS
from smartlock_host.scenario import StubProcess, parse_instant

START = "2026-06-01T08:00:00Z"
WORLD = {
    "start": START,
    "igloohome": {
        "accounts": [{"client_id": "rt-id", "client_secret": "rt-secret", "name": "Runtime Rentals"}],
        "locks": [
            {"id": "OE1X000061", "name": "Front door", "bridge": "EB1X000061"},
            {"id": "OE1X000062", "name": "Shed"},
        ],
        "bridges": [{"id": "EB1X000061", "name": "Bridge", "online": True}],
    },
}


@pytest.fixture(scope="module")
def stub(harness: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StubProcess]:
    config = tmp_path_factory.mktemp("world") / "world.json"
    config.write_text(json.dumps(WORLD))
    with StubProcess(config, binary=harness, forward_stderr=False) as process:
        yield process


def handle(runtime: Runtime, stub: StubProcess, tenant_id: str) -> Tuple[TenantHandle, SimClock]:
    clock = SimClock(parse_instant(START, "start"))
    tenant = Tenant(tenant_id, MemoryStore(), http=HttpClient(timeout=2), clock=clock, routes=VendorRoutes.via_stub(stub.base))
    return runtime.tenant(tenant), clock


def test_r23_the_plugin_imports_only_its_contract_and_wasi_random_and_the_host_links_only_those(runtime: Runtime) -> None:
    imports = set(runtime.imports())
    assert imports <= set(contract.IMPORTS), imports
    assert "wasi:random/random@0.2.0" in imports
    for name in ("http", "storage", "email", "log", "clock", "scheduler"):
        assert contract.interface(name) in imports
    assert set(_IMPORTS) == set(contract.IMPORTS), "the host links the contract and wasi:random, nothing else"
    assert set(_IMPORTS["wasi:random/random@0.2.0"]) == {"get-random-bytes", "get-random-u64"}


def test_a_component_that_imports_more_than_the_contract_is_refused_when_it_loads() -> None:
    wat = '(component (import "wasi:cli/environment@0.2.0" (instance)) (import "pms:smartlock/log@0.2.0" (instance)))'
    with pytest.raises(ValueError, match="imports wasi:cli/environment@0.2.0, which this host does not provide"):
        Runtime(RuntimeConfig(wat.encode()))


def test_the_plugins_refusals_are_typed_errors_with_smartlock_hosts_sentences(runtime: Runtime, stub: StubProcess) -> None:
    t, _ = handle(runtime, stub, "rt-errors")
    with pytest.raises(NotConnected) as not_connected:
        t.list_locks("nuki")
    assert str(not_connected.value) == "no Nuki account is connected"
    assert (not_connected.value.variant, not_connected.value.payload, not_connected.value.tenant) == (
        "not-connected",
        "nuki",
        "rt-errors",
    )
    with pytest.raises(CredentialsRejected) as rejected:
        t.connect(IgloohomeCredentials("rt-id", "wrong"))
    assert str(rejected.value).startswith("the credentials were refused: ")
    assert t.connect(IgloohomeCredentials("rt-id", "rt-secret")).name == "Runtime Rentals"
    t.on_property_changed(Property(id="p1", name="Home", timezone="Europe/Paris"))
    with pytest.raises(InvalidInput) as invalid:
        t.assign("p1", "igloohome", "OE1X000061", margin_minutes=999)
    assert str(invalid.value) == "margin_minutes must be between 0 and 240"
    assert invalid.value.field == "margin_minutes" and invalid.value.payload == FieldError("margin-minutes", "must be between 0 and 240")
    with pytest.raises(LockNotRemote) as not_remote:
        t.assign("p1", "igloohome", "OE1X000062")
    assert "needs a bridge" in str(not_remote.value)
    with pytest.raises(NotFound) as not_found:
        t.booking_status("nope")
    assert str(not_found.value) == 'booking_id "nope" is not known'
    assert isinstance(not_found.value, PluginError)
    with pytest.raises(ValueError):
        t.assign("p1", "igloohome", "OE1X000061", days_before=2**40)  # ctypes would wrap it silently


def test_sentences_of_every_case() -> None:
    assert error_sentence("invalid-input", FieldError("margin-minutes", "must be between 0 and 240")) == (
        "margin_minutes must be between 0 and 240"
    )
    assert error_sentence("lock-not-remote", 'the lock "Front" needs a bridge') == 'the lock "Front" needs a bridge'
    assert error_sentence("not-connected", "ttlock") == "no TTLock account is connected"
    assert error_sentence("vendor-unavailable", "HTTP 503") == "the lock vendor is unavailable: HTTP 503"
    assert error_sentence("storage-failed", "disk") == "storage failed: disk"
    field = contract.record(field="check-out", reason="must be after check-in")
    error = PluginError.from_wit("invalid-input", field, tenant="t", export="on-booking-changed")
    assert isinstance(error, InvalidInput) and error.field == "check_out" and str(error) == "check_out must be after check-in"


def test_a_booking_due_now_asks_for_a_wake_up_and_a_tick_puts_the_code_on_the_lock(runtime: Runtime, stub: StubProcess) -> None:
    t, clock = handle(runtime, stub, "rt-wake")
    t.connect(IgloohomeCredentials("rt-id", "rt-secret"))
    home = Property(id="p1", name="Home", timezone="Europe/Paris")
    t.on_property_changed(home)
    assignment = t.assign("p1", "igloohome", "OE1X000061", days_before=5)
    assert (assignment.remote.kind, assignment.remote.id, assignment.days_before, assignment.margin_minutes) == (
        "bridge",
        "EB1X000061",
        5,
        30,
    )
    assert t.get_assignment("p1") == assignment and t.get_assignment("nowhere") is None
    t.on_booking_changed(BookingEvent(Booking("b1", "p1", "2026-06-03", "2026-06-05", guest_name="Ana"), home))
    now = clock.now()
    wake = t.wake_up()
    assert wake is not None and wake <= now, "a code due now asks to be woken now (R21)"
    assert t.id in runtime.wake_ups.due(now)
    assert t.on_tick(now).vendor_requests > 0
    assert t.booking_status("b1").state in ("creating", "on-lock")
    assert t.render_variable("nobody_knows_me", "b1") is None
    assert t.accounts()[0].provider == "igloohome"


def test_a_restarted_runtime_and_the_compile_cache_load_the_same_component(plugin_path: Path, tmp_path: Path) -> None:
    cached = Runtime(RuntimeConfig(plugin_path, cache_dir=tmp_path / "cache"))
    assert len(list((tmp_path / "cache").iterdir())) == 1, "the compiled component is kept"
    again = Runtime(RuntimeConfig(plugin_path, cache_dir=tmp_path / "cache"))
    restarted = again.restarted()
    for rt in (cached, again, restarted):
        assert rt.tenant(Tenant("r", MemoryStore())).render_variable("smartlock_code", "none") is None
        rt.close()


def test_every_instance_slot_busy_is_an_instantiate_error(plugin_path: Path) -> None:
    rt = Runtime(RuntimeConfig(plugin_path, max_instances=1, call_wall_limit=0.2))
    t = rt.tenant(Tenant("slots", MemoryStore()))
    other = rt.tenant(Tenant("slots-other", MemoryStore()))

    def inner(_: object) -> None:
        with pytest.raises(InstantiateError, match="no free instance slot within 200ms"):
            other.render_variable("smartlock_code", "b")

    t.with_instance(inner)
    rt.close()
