"""The README's embedding example (host-harness/python/README.md, "Embedding
in a PMS"), run as written: its code block is executed as a module and, for
each brand, its ``first_code`` connects the stub account, assigns the remote
lock, sends a booking and ticks until the code is on the lock; the stub's
lock must then hold that PIN with the booking's window.

The example's ``main`` is not run (its component file, database file and
real vendors are not here): the test makes the same runtime from the
build's component, the database in a temporary folder and each tenant as
the example does (``Tenant(id, storage)``: the default allow-list, which the
test checks), giving it only a transport that sends the allowed vendor URLs
to the stubs over loopback and a clock running :data:`SPEED` times as fast,
which the stubs follow.
"""

from __future__ import annotations

import json
import re
import threading
import time
import types
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Tuple

from smartlock_host import (
    HttpClient,
    HttpRequest,
    HttpResponse,
    Runtime,
    SqliteDb,
    Tenant,
    VendorRoutes,
)
from smartlock_host.contract import code_event_from_json
from smartlock_host.scenario import StubProcess, stub_routes

README = Path(__file__).resolve().parent.parent / "README.md"
#: How much faster than the wall clock the tenants' and the stubs' clock runs:
#: the example's 1-second loop then steps a minute of vendor time.
SPEED = 60


def readme_block() -> str:
    """The README's example: the python block of its "Embedding in a PMS" section."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Embedding in a PMS") :]
    match = re.search(r"```python\n(.*?)\n```\n", section, re.S)
    assert match, "no python block in the README's embedding section"
    return match.group(1) + "\n"


class FastClock:
    """Starts at the wall clock's now and runs SPEED times as fast."""

    def __init__(self) -> None:
        self.start = int(time.time())
        self.started = time.monotonic()

    def now(self) -> int:
        return self.start + int((time.monotonic() - self.started) * SPEED)


class ToStubs:
    """The tenants' transport: what passed the tenant's own allow-list (the
    real vendor URLs) goes to the stub world's place for that origin, after
    the stubs' clock is moved to the tenants'."""

    def __init__(self, stub: StubProcess, clock: FastClock, runtime: Runtime) -> None:
        self.stub = stub
        self.clock = clock
        self.routes = stub_routes(list(runtime.brands()), stub.base)
        self.inner = HttpClient()
        self.lock = threading.Lock()
        self.stub_now = 0

    def sync(self) -> None:
        with self.lock:
            now = self.clock.now()
            if now > self.stub_now:
                self.stub.set_time(now)
                self.stub_now = now

    def send(self, request: HttpRequest) -> HttpResponse:
        self.sync()
        url = self.routes.resolve(request.url)
        return self.inner.send(HttpRequest(request.method, url, request.headers, request.body, request.timeout))


#: Each brand's account with one lock that takes codes remotely and one that cannot.
WORLD: Dict[str, Any] = {
    "igloohome": {
        "accounts": [{"client_id": "igloo-id", "client_secret": "igloo-secret", "name": "Seaside Rentals"}],
        "locks": [
            {"id": "OE1X000003", "name": "Garden gate"},
            {"id": "OE1X000001", "name": "Front door", "bridge": "EB1X000001"},
        ],
        "bridges": [{"id": "EB1X000001", "name": "Hall bridge", "online": True}],
    },
    "nuki": {
        "accounts": [{"api_token": "nuki-api-token", "name": "Alpine Stays"}],
        "locks": [
            {"id": "17000002", "name": "Ski room", "keypad": False},
            {"id": "17000001", "name": "Chalet entrance", "keypad": True, "online": True},
        ],
    },
    "ttlock": {
        "app": {"client_id": "pms-ttlock-app", "client_secret": "pms-ttlock-secret"},
        "accounts": [{"username": "owner@example.com", "password": "owner-password", "name": "City Flats"}],
        "locks": [
            {"id": "3000003", "name": "Storage room"},
            {"id": "3000001", "name": "Studio door", "gateway": "4000001"},
        ],
        "gateways": [{"id": "4000001", "name": "Lobby gateway", "online": True}],
    },
}

#: Each brand's connect form as the manager fills it, and its remote lock.
BRANDS: List[Tuple[str, Dict[str, str], str]] = [
    ("igloohome", {"client_id": "igloo-id", "client_secret": "igloo-secret"}, "OE1X000001"),
    ("nuki", {"api_token": "nuki-api-token"}, "17000001"),
    ("ttlock", {"username": "owner@example.com", "password": "owner-password"}, "3000001"),
]
#: The PMS's own configuration: the values of host-supplied fields (TTLock's application).
PMS_CONFIG: Dict[str, Dict[str, str]] = {"ttlock": WORLD["ttlock"]["app"]}


def test_the_readme_block_is_a_complete_example() -> None:
    block = readme_block()
    for needed in ("def main() -> None:", "def first_code(", 'Tenant("acct-42", db.tenant("acct-42"))', "Runtime(RuntimeConfig("):
        assert needed in block, needed


def test_the_readme_example_puts_the_code_on_every_brands_lock(runtime: Runtime, harness: Path, tmp_path: Path) -> None:
    example = types.ModuleType("readme_example")
    exec(compile(readme_block(), str(README), "exec"), example.__dict__)
    clock = FastClock()
    world = dict(WORLD, start=datetime.fromtimestamp(clock.start, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    (tmp_path / "world.json").write_text(json.dumps(world))
    results: Dict[str, Any] = {}
    with StubProcess(tmp_path / "world.json", binary=harness, forward_stderr=False) as stub, SqliteDb(
        tmp_path / "smartlock.sqlite"
    ) as db:
        http = ToStubs(stub, clock, runtime)

        def run(brand: str, credentials: Dict[str, str]) -> None:
            tenant = Tenant(f"acct-{brand}", db.tenant(f"acct-{brand}"))
            # The README's tenant: its allow-list is the default one.
            assert tenant.routes == VendorRoutes.all_brands()
            tenant = tenant.with_http(http).with_clock(clock)
            try:
                message = example.first_code(runtime, tenant, brand, credentials, PMS_CONFIG.get(brand, {}))
                results[brand] = (message, runtime.tenant(tenant).booking_status("bk-1001"))
            except Exception as e:  # noqa: BLE001 - reported below
                results[brand] = e

        started = time.monotonic()
        threads = [threading.Thread(target=run, args=(brand, creds)) for brand, creds, _ in BRANDS]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(f"three brands' first codes in {time.monotonic() - started:.1f} s of wall time")
        # The lock-side truth, once the stubs' clock is at the tenants'.
        http.sync()
        on_locks = stub.pins()
        events = {brand: [code_event_from_json(e.json) for e in db.tenant(f"acct-{brand}").events_after(0, 100)] for brand, _, _ in BRANDS}
    for brand, _, lock in BRANDS:
        outcome = results[brand]
        assert not isinstance(outcome, Exception), f"{brand}: the README example failed: {outcome!r}"
        message, status = outcome
        assert status.state == "on-lock", f"{brand}: {status}"
        assert status.pin is not None and status.window is not None
        assert message == f"Hello Ana Silva, your door code is {status.pin}.", brand
        assert status.lock_id == lock, f"{brand}: the first lock that takes codes"
        pins = [p for p in on_locks if p["provider"] == brand]
        assert len(pins) == 1, f"{brand}: one PIN on the brand's locks: {on_locks}"
        p = pins[0]
        assert (p["lock"], p["pin"], p["removed_at"]) == (lock, status.pin, None), p
        window = (datetime.fromtimestamp(status.window.start, timezone.utc), datetime.fromtimestamp(status.window.end, timezone.utc))
        assert (p["start"], p["end"]) == tuple(w.strftime("%Y-%m-%dT%H:%M:%SZ") for w in window), p
        # The code events of the booking, recorded once each in the shared `events` table (R27).
        kinds = [e.kind for e in events[brand] if e.booking_id == "bk-1001"]
        assert "on-lock" in kinds and kinds[0] == "scheduled", f"{brand}: {kinds}"
        assert all(e.brand == brand for e in events[brand] if e.brand is not None)
        assert len({e.id for e in events[brand]}) == len(events[brand])
