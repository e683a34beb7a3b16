"""R25 and R26 through this host's admin calls: ``assign`` with
``backup_codes`` (spare codes on the property's own lock), and a property's
shared doors (``share_door``, ``shared_doors``, ``unshare_door``) with the
booking's door codes in its status (``doors``) and the door's name on its
code events. Judged on the stubs' lock-side truth (``pins``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from smartlock_host import (
    Booking,
    BookingEvent,
    HttpClient,
    InvalidInput,
    MemoryStore,
    NotFound,
    Property,
    Runtime,
    SimClock,
    Tenant,
    TenantHandle,
)
from smartlock_host.scenario import StubProcess, parse_instant, report_events, status_json, stub_routes

from support import stub_world

START = "2026-03-01T08:00:00Z"
UNIT = "OE1X000001"
ENTRANCE = "18205286116"
WORLD = {
    "start": START,
    "igloohome": {
        "accounts": [{"client_id": "demo-id", "client_secret": "demo-secret", "name": "Sea View Rentals"}],
        "locks": [{"id": UNIT, "name": "Front door", "bridge": "EB1X000001"}],
        "bridges": [{"id": "EB1X000001", "name": "Hall bridge"}],
    },
    "nuki": {
        "accounts": [{"api_token": "nuki-demo-token", "name": "Sea View Rentals"}],
        "locks": [{"id": ENTRANCE, "name": "Entrance", "keypad": True}],
    },
}


@pytest.fixture(scope="module")
def stub(harness: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StubProcess]:
    with stub_world(harness, tmp_path_factory.mktemp("doors"), WORLD) as process:
        yield process


def _tick_through(t: TenantHandle, clock: SimClock, stub: StubProcess, start: int, end: int) -> None:
    """Ticks every minute from ``start`` to ``end`` (the stub's clock with it)."""
    for now in range(start, end + 1, 60):
        clock.set(now)
        stub.set_time(now)
        while t.on_tick(now).more_due:
            pass


def _live(stub: StubProcess, lock: str) -> List[Dict[str, Any]]:
    return [p for p in stub.pins() if p["lock"] == lock and p["removed_at"] is None]


def test_r25_r26_backup_codes_and_a_shared_door_of_another_brand_through_the_admin_calls(runtime: Runtime, stub: StubProcess) -> None:
    now = parse_instant(START, "start")
    clock = SimClock(now)
    stub.set_time(now)
    storage = MemoryStore()
    routes = stub_routes(list(runtime.brands()), stub.base)
    t = runtime.tenant(Tenant("doors", storage, http=HttpClient(timeout=2), clock=clock, routes=routes))
    t.connect("igloohome", {"client_id": "demo-id", "client_secret": "demo-secret"})
    t.connect("nuki", {"api_token": "nuki-demo-token"})
    home = Property(id="p1", name="Sea View", timezone="Europe/Paris")
    t.on_property_changed(home)

    # R25: the setting's range, then a pool of two.
    with pytest.raises(InvalidInput) as out_of_range:
        t.assign("p1", "igloohome", UNIT, backup_codes=6)
    assert str(out_of_range.value) == "backup_codes must be between 0 and 5"
    assert t.assign("p1", "igloohome", UNIT, backup_codes=2).backup_codes == 2
    assigned = t.get_assignment("p1")
    assert assigned is not None and assigned.backup_codes == 2

    # R26: the door, once however often it is added.
    assert t.shared_doors("p1") == []
    door = t.share_door("p1", "nuki", ENTRANCE)
    assert (door.property_id, door.brand, door.lock_id, door.lock_name) == ("p1", "nuki", ENTRANCE, "Entrance")
    assert t.share_door("p1", "nuki", ENTRANCE) == door
    assert t.shared_doors("p1") == [door]
    with pytest.raises(InvalidInput) as own_lock:
        t.share_door("p1", "igloohome", UNIT)
    assert own_lock.value.field == "lock_id"
    with pytest.raises(NotFound) as nowhere:
        t.share_door("nowhere", "nuki", ENTRANCE)
    assert nowhere.value.field == "property_id"

    # A stay within days_before: codes are written at once, on both locks.
    t.on_booking_changed(BookingEvent(Booking("b1", "p1", "2026-03-03", "2026-03-05", guest_name="Ana"), home))
    _tick_through(t, clock, stub, now, now + 15 * 60)
    status = t.booking_status("b1")
    assert status.state == "on-lock"
    assert len(status.doors) == 1
    code = status.doors[0]
    assert (code.brand, code.lock_id, code.door_name, code.state, code.alert_sent) == ("nuki", ENTRANCE, "Entrance", "on-lock", False)
    assert code.pin is not None and code.pin.isdigit()
    assert code.window == status.window, "the door's window is the stay's"
    assert list(status_json(status)["doors"][0]) == [
        "provider", "lock", "door", "state", "pin", "window", "last_error", "next_attempt", "alert_sent", "fallback",
    ]

    # The locks' truth: the booking's PIN on each lock, two spare codes on the unit.
    assert [(p["pin"], p["kind"]) for p in _live(stub, ENTRANCE)] == [(code.pin, "code")]
    unit = _live(stub, UNIT)
    assert [p["pin"] for p in unit if p["kind"] == "code"] == [status.pin]
    assert len([p for p in unit if p["kind"] == "backup"]) == 2, unit

    # The door's code events name it (R27).
    events = report_events(storage)
    on_door = [e for e in events if e.get("lock") == ENTRANCE]
    assert on_door and all(e.get("door") == "Entrance" and e.get("booking") == "b1" for e in on_door), on_door
    assert all("door" not in e for e in events if e.get("lock") == UNIT)

    # Unshared before the stay: the door's code leaves the door (R17).
    t.unshare_door("p1", "nuki", ENTRANCE)
    assert t.shared_doors("p1") == []
    with pytest.raises(NotFound):
        t.unshare_door("p1", "nuki", ENTRANCE)
    _tick_through(t, clock, stub, now + 16 * 60, now + 30 * 60)
    assert _live(stub, ENTRANCE) == [], "no code left on the door"
    assert t.booking_status("b1").doors == ()
