"""The real plugin component in this host: it imports only its contract and
wasi:random (R23) and the host links nothing else; its brands are data
(R30); the plugin's refusals arrive as typed errors with smartlock-host's
sentences; wake-ups and code events (once per id) are recorded; a restart and the compile cache keep working; a component that
imports anything more is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Tuple

import pytest
from smartlock_host import (
    Booking,
    BookingEvent,
    CredentialsRejected,
    HttpClient,
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
    UnknownBrand,
    contract,
)
from smartlock_host.contract import FieldError, error_sentence
from smartlock_host.errors import InstantiateError
from smartlock_host.runtime import _IMPORTS
from smartlock_host.scenario import StubProcess, parse_instant, report_events, stub_routes

from support import stub_world

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
    with stub_world(harness, tmp_path_factory.mktemp("world"), WORLD) as process:
        yield process


def handle(runtime: Runtime, stub: StubProcess, tenant_id: str) -> Tuple[TenantHandle, SimClock]:
    clock = SimClock(parse_instant(START, "start"))
    routes = stub_routes(list(runtime.brands()), stub.base)
    tenant = Tenant(tenant_id, MemoryStore(), http=HttpClient(timeout=2), clock=clock, routes=routes)
    return runtime.tenant(tenant), clock


def test_r23_the_plugin_imports_only_its_contract_and_wasi_random_and_the_host_links_only_those(runtime: Runtime) -> None:
    imports = set(runtime.imports())
    assert imports <= set(contract.IMPORTS), imports
    assert "wasi:random/random@0.2.0" in imports
    for name in ("http", "storage", "email", "log", "clock", "scheduler", "code-events"):
        assert contract.interface(name) in imports
    assert set(_IMPORTS) == set(contract.IMPORTS), "the host links the contract and wasi:random, nothing else"
    assert set(_IMPORTS["wasi:random/random@0.2.0"]) == {"get-random-bytes", "get-random-u64"}


def test_a_component_that_imports_more_than_the_contract_is_refused_when_it_loads() -> None:
    wat = '(component (import "wasi:cli/environment@0.2.0" (instance)) (import "pms:smartlock/log@0.3.0" (instance)))'
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
    with pytest.raises(UnknownBrand) as unknown:
        t.connect("no-such-brand", {})
    assert unknown.value.variant == "unknown-brand"
    with pytest.raises(InvalidInput) as missing:
        t.connect("igloohome", {"client_id": "rt-id"})
    assert missing.value.field is not None and "client_secret" in str(missing.value)
    with pytest.raises(CredentialsRejected) as rejected:
        t.connect("igloohome", {"client_id": "rt-id", "client_secret": "not-the-secret"})
    assert str(rejected.value).startswith("the credentials were refused: ")
    assert "not-the-secret" not in str(rejected.value) and "not-the-secret" not in repr(contract.Credential("s", "not-the-secret"))
    account = t.connect("igloohome", [contract.Credential("client_id", "rt-id"), contract.Credential("client_secret", "rt-secret")])
    assert (account.brand, account.name) == ("igloohome", "Runtime Rentals")
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
    assert error_sentence("not-connected", "acme") == "no acme account is connected"  # a brand no component listed
    assert error_sentence("other-brand-assigned", "the property has a nuki lock") == "the property has a nuki lock"
    assert error_sentence("unknown-brand", "no brand \"x\"") == "no brand \"x\""
    assert error_sentence("vendor-unavailable", "HTTP 503") == "the lock vendor is unavailable: HTTP 503"
    assert error_sentence("storage-failed", "disk") == "storage failed: disk"
    field = contract.record(field="check-out", reason="must be after check-in")
    error = PluginError.from_wit("invalid-input", field, tenant="t", export="on-booking-changed")
    assert isinstance(error, InvalidInput) and error.field == "check_out" and str(error) == "check_out must be after check-in"


def test_a_booking_due_now_asks_for_a_wake_up_and_a_tick_puts_the_code_on_the_lock(runtime: Runtime, stub: StubProcess) -> None:
    t, clock = handle(runtime, stub, "rt-wake")
    t.connect("igloohome", {"client_id": "rt-id", "client_secret": "rt-secret"})
    home = Property(id="p1", name="Home", timezone="Europe/Paris")
    t.on_property_changed(home)
    assignment = t.assign("p1", "igloohome", "OE1X000061", days_before=5)
    assert (assignment.brand, assignment.remote.kind, assignment.remote.via, assignment.days_before, assignment.margin_minutes) == (
        "igloohome",
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
    assert t.accounts()[0].brand == "igloohome"
    status = t.booking_status("b1")
    assert (status.brand, status.lock_id) == ("igloohome", "OE1X000061")
    # The code events the plugin reported, once each, in order (R27).
    storage = t.tenant.storage
    assert isinstance(storage, MemoryStore)
    events = report_events(storage)
    assert events and {"id", "at", "state", "detail"} <= set(events[0])
    assert all(e.get("booking") == "b1" for e in events if "booking" in e)
    assert events[0]["state"] == "scheduled" and events[0]["provider"] == "igloohome"
    assert len({e["id"] for e in events}) == len(events)
    t.on_tick(now)  # nothing new: no event twice
    assert [e["id"] for e in report_events(storage)][: len(events)] == [e["id"] for e in events]


def test_r30_brands_are_data_their_forms_and_origins_come_from_the_component(runtime: Runtime) -> None:
    brands = runtime.brands()
    assert brands is runtime.brands(), "asked once"
    ids = [b.id for b in brands]
    assert {"igloohome", "nuki", "ttlock"} <= set(ids) and len(ids) == len(set(ids))
    for brand in brands:
        assert brand.name and brand.credentials and brand.origins, brand.id
        assert all(o.startswith("https://") and o.count("/") == 2 for o in brand.origins), brand.origins
        assert runtime.brand(brand.id) == brand
    assert runtime.brand("no-such-brand") is None
    ttlock = runtime.brand("ttlock")
    assert ttlock is not None
    assert [(f.name, f.host_supplied) for f in ttlock.credentials if f.host_supplied] == [
        ("client_id", True),
        ("client_secret", True),
    ]
    assert any(f.secret for f in ttlock.credentials)


def test_a_code_event_is_recorded_once_per_id_and_a_storage_failure_is_the_reports_error() -> None:
    from smartlock_host.errors import StorageError
    from smartlock_host.runtime import _report_event

    class Failing(MemoryStore):
        def record_event(self, id: str, at: int, json: str) -> bool:
            raise StorageError("unavailable", "disk gone")

    def event(id: str) -> object:
        return contract.record(
            id=id, at=100, kind="on-lock", booking_id="b1", property_id=None, brand="nuki", lock_id="L1", door=None, at_risk=None, detail="On the lock."
        )

    class FakeCall:
        def __init__(self, storage: MemoryStore) -> None:
            self.tenant = Tenant("events", storage)

    store = MemoryStore()
    call = FakeCall(store)
    assert _report_event(call, event("e1")) is None  # type: ignore[arg-type]
    assert _report_event(call, event("e1")) is None  # type: ignore[arg-type]
    assert _report_event(call, event("e2")) is None  # type: ignore[arg-type]
    assert [e.id for e in store.events_after(0, 10)] == ["e1", "e2"]
    assert report_events(store)[0] == {
        "id": "e1",
        "at": "1970-01-01T00:01:40Z",
        "state": "on_lock",
        "booking": "b1",
        "provider": "nuki",
        "lock": "L1",
        "detail": "On the lock.",
    }
    too_long = _report_event(call, event("x" * 513))  # type: ignore[arg-type]
    assert too_long is not None and "513 bytes" in str(too_long.value)
    failed = _report_event(FakeCall(Failing()), event("e3"))  # type: ignore[arg-type]
    assert failed is not None and "disk gone" in str(failed.value)


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
