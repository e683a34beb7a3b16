"""Scenario files and reports (`docs/scenarios.md`) replayed by the Python
host: the same timeline, ticks and report as ``host-harness scenario``
(host-harness/src/scenario.rs), with the plugin in this host and the vendor
stubs in a ``host-harness stub`` process driven through its ``/_admin/`` API.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import subprocess
import sys
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union, cast
from urllib.parse import urlsplit

from . import paths
from .clock import SimClock
from .contract import (
    Booking,
    BookingEvent,
    BrandInfo,
    CodeEvent,
    CodeStatus,
    Credential,
    DoorCode,
    FallbackCode,
    Property,
    RemotePath,
    Window,
    code_event_from_json,
)
from .errors import CallError, PluginError
from .http import HttpClient, VendorRoutes
from .runtime import Runtime, RuntimeConfig, Tenant, TenantHandle
from .storage import KvStore, SqliteDb
from .template import substitute

_log = logging.getLogger("smartlock_host.scenario")

#: The tenant id (and storage namespace) scenarios run as.
TENANT = "scenario"
#: HTTP timeout towards the stub (it answers at once; hang faults must not stall a run).
STUB_HTTP_TIMEOUT = 2.0
#: Extra ``on-tick`` calls at one instant while the plugin says more is due.
MAX_TICK_REPEATS = 20

# This runner names no brand. What a brand is (its id, connect form,
# origins) comes from the component (`Runtime.brands`), in its order: the
# first is the one a step without ``provider`` means. Where the stub world
# serves each brand, and which fault endpoints and kinds it has, come from
# the running world (`GET /_admin/layout`, a fault armed with count 0).


# ---- the fields of a step, checked with serde's words (the Rust runner reads
# the file with serde: a bad field is `step N (kind): <serde's message>`)


class _FieldError(Exception):
    """A value serde would refuse, in serde's words."""


def _unexpected(v: Any) -> str:
    """serde's ``Unexpected`` of a JSON value."""
    if isinstance(v, bool):
        return f"boolean `{'true' if v else 'false'}`"
    if isinstance(v, int):
        return f"integer `{v}`"
    if isinstance(v, float):
        return f"floating point `{v!r}`"
    if isinstance(v, str):
        return f"string {json.dumps(v, ensure_ascii=False)}"
    if v is None:
        return "null"
    return "sequence" if isinstance(v, list) else "map"


#: A field's check: raises :class:`_FieldError`.
_Check = Callable[[Any], None]


def _of_type(test: Callable[[Any], bool], expected: str) -> _Check:
    def check(v: Any) -> None:
        if not test(v):
            raise _FieldError(f"invalid type: {_unexpected(v)}, expected {expected}")

    return check


_STR = _of_type(lambda v: isinstance(v, str), "a string")
_BOOL = _of_type(lambda v: isinstance(v, bool), "a boolean")
_I64 = _of_type(lambda v: isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63, "i64")


def _unsigned(bits: int) -> _Check:
    name = f"u{bits}"
    is_int = _of_type(lambda v: isinstance(v, int) and not isinstance(v, bool), name)

    def check(v: Any) -> None:
        is_int(v)
        if not 0 <= v < 2**bits:
            raise _FieldError(f"invalid value: integer `{v}`, expected {name}")

    return check


def _optional(check: _Check) -> _Check:
    def check_some(v: Any) -> None:
        if v is not None:
            check(v)

    return check_some


def _fields(fields: Tuple[Tuple[str, _Check, bool], ...], value: Dict[str, Any]) -> None:
    """serde's derived struct: each known field in the file's order, then
    the first missing required one in the declaration's order."""
    checks = {name: check for name, check, _ in fields}
    for key, v in value.items():
        if key in checks:
            checks[key](v)
    for name, _, required in fields:
        if required and name not in value:
            raise _FieldError(f"missing field `{name}`")


def _struct(name: str, fields: Tuple[Tuple[str, _Check, bool], ...]) -> _Check:
    def check(v: Any) -> None:
        if not isinstance(v, dict):
            raise _FieldError(f"invalid type: {_unexpected(v)}, expected struct {name}")
        _fields(fields, v)

    return check


def _one_of(names: Sequence[str]) -> str:
    """serde's list of expected variants."""
    quoted = [f"`{n}`" for n in names]
    if len(quoted) == 1:
        return quoted[0]
    if len(quoted) == 2:
        return f"{quoted[0]} or {quoted[1]}"
    return "one of " + ", ".join(quoted)


def _variant(names: Optional[Sequence[str]]) -> _Check:
    """A unit-variant enum read from the step serde buffers (it flattens
    the action): one of ``names`` (``None``: any name)."""

    def check(v: Any) -> None:
        if not isinstance(v, str):
            raise _FieldError(f"invalid type: {_unexpected(v)}, expected string or map")
        if names is not None and v not in names:
            raise _FieldError(f"unknown variant `{v}`, expected {_one_of(names)}")

    return check


_status = _variant(("confirmed", "cancelled"))


_OPT_STR = _optional(_STR)
_OPT_I64 = _optional(_I64)
_PROPERTY_IN = _struct(
    "PropertyIn",
    (("id", _STR, True), ("name", _STR, True), ("timezone", _STR, True), ("check_in_time", _OPT_STR, False), ("check_out_time", _OPT_STR, False)),
)
_BOOKING_IN = _struct(
    "BookingIn",
    (
        ("id", _STR, True),
        ("property", _STR, True),
        ("guest_name", _OPT_STR, False),
        ("check_in", _STR, True),
        ("check_out", _STR, True),
        ("check_in_time", _OPT_STR, False),
        ("check_out_time", _OPT_STR, False),
        ("status", _status, True),
    ),
)
#: The step kinds (``do``) and the fields the Rust runner reads of each
#: (``provider``, one of the component's brand ids, and a connect's
#: credentials are checked apart): ``(name, check, required)``.
STEP_FIELDS: Dict[str, Tuple[Tuple[str, _Check, bool], ...]] = {
    "connect": (),
    "disconnect": (),
    "property": (("property", _PROPERTY_IN, True),),
    "assign": (
        ("property", _STR, True),
        ("lock", _STR, True),
        ("days_before", _OPT_I64, False),
        ("margin_minutes", _OPT_I64, False),
        ("backup_codes", _OPT_I64, False),
    ),
    "unassign": (("property", _STR, True),),
    "share_door": (("property", _STR, True), ("lock", _STR, True)),
    "unshare_door": (("property", _STR, True), ("lock", _STR, True)),
    "booking": (("booking", _BOOKING_IN, True),),
    "bridge": (("bridge", _STR, True), ("online", _BOOL, True)),
    "fault": (
        ("endpoint", _STR, True),
        ("status", _unsigned(16), False),
        ("count", _unsigned(32), True),
        ("kind", _OPT_STR, False),
        ("errcode", _OPT_I64, False),
    ),
    "revoke_tokens": (),
    "render": (("booking", _STR, True), ("template", _STR, True)),
    "status": (("booking", _STR, True),),
    "try_pin": (("lock", _STR, True), ("pin", _OPT_STR, False), ("booking", _OPT_STR, False)),
    "restart": (),
    "end": (),
}
STEP_KINDS = tuple(STEP_FIELDS)
#: The step kinds that take a ``provider`` (others ignore one, as serde does).
PROVIDER_STEPS = frozenset(
    ("connect", "disconnect", "assign", "share_door", "unshare_door", "bridge", "fault", "revoke_tokens", "try_pin")
)
#: A report's pin, as `host-harness scenario` writes it.
PIN_FIELDS = ("provider", "lock", "pin", "access_name", "start", "end", "added_at", "removed_at", "kind")
#: Events fetched per page when the report reads them.
EVENTS_PAGE = 500


def _admin_request(base: str, method: str, route: str, body: Optional[Any] = None) -> Tuple[int, Any]:
    """One request to the admin API of the stub world served at ``base``: ``(status, JSON body)``."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
    try:
        payload = None if body is None else json.dumps(body).encode()
        headers = {} if payload is None else {"content-type": "application/json"}
        conn.request(method, f"{parts.path.rstrip('/')}/_admin/{route}", body=payload, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
    finally:
        conn.close()
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = {"error": text}
    return response.status, value


def stub_layout(base: str) -> Dict[str, str]:
    """Where the stub world served at ``base`` serves each brand's real
    paths: ``{brand id: path prefix}`` from its ``GET /_admin/layout`` (the
    world knows its own layout, host-harness/stubs ``Vendor::path_prefix``;
    this host does not write it down). Raises :class:`RuntimeError` when the
    world does not tell it (a stub built before the route)."""
    status, value = _admin_request(base, "GET", "layout")
    brands = value.get("brands") if isinstance(value, dict) else None
    if (
        status != 200
        or not isinstance(brands, dict)
        or not all(isinstance(p, str) and (p == "" or p.startswith("/")) for p in brands.values())
    ):
        raise RuntimeError(
            f"the stub world at {base} did not tell its layout (GET /_admin/layout answered {status}): "
            f"rebuild it with `{paths.BUILD_COMMAND}`"
        )
    return brands


def stub_routes(brands: List[BrandInfo], base: str) -> VendorRoutes:
    """Every origin of ``brands`` sent to the brand's place in the stub
    world at ``base``, as that world tells it (:func:`stub_layout`). A brand
    the world does not list (no stub of it) goes to its own origins."""
    layout = stub_layout(base)
    root = base.rstrip("/")
    return VendorRoutes.from_brands(brands, lambda brand_id: root + layout[brand_id] if brand_id in layout else None)

Json = Any


class InvalidScenario(Exception):
    """A scenario file that cannot be run (the command's exit status 2)."""


class StepFailure(Exception):
    """A step that failed on the harness side (reported as the step's error)."""


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def parse_instant(text: Any, what: str) -> int:
    """An RFC 3339 instant as whole seconds, or :class:`InvalidScenario`."""
    if isinstance(text, str) and _RFC3339.match(text):
        try:
            return int(datetime.fromisoformat(text.upper().replace("Z", "+00:00")).timestamp() // 1)
        except ValueError:
            pass
    raise InvalidScenario(f"invalid scenario: {what}: not an RFC 3339 instant: {json.dumps(text)}")


def utc(t: int) -> str:
    """RFC 3339 UTC with seconds, ``2026-03-20T14:30:00Z``."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rfc3339_offset(t: int) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def step_provider(step: Dict[str, Json], brands: Sequence[BrandInfo]) -> Optional[str]:
    """The brand a step is for: its ``provider``, else the component's first
    brand (``None``: the component lists none)."""
    given = step.get("provider")
    if given is not None:
        return str(given)
    return brands[0].id if brands else None


def _step_fields(kind: str, brand_ids: Optional[Sequence[str]]) -> Tuple[Tuple[str, _Check, bool], ...]:
    """The fields of a step of ``kind``, its ``provider`` one of ``brand_ids`` (``None``: any name)."""
    fields = STEP_FIELDS[kind]
    if kind in PROVIDER_STEPS:
        fields += (("provider", _variant(brand_ids), False),)
    return fields


class Scenario:
    """A checked scenario: the file's JSON, with instants as seconds.

    The Rust runner's checks, in its order: the brand-dependent ones (a
    step's ``provider``, a ``connect`` step's fields) against the
    component's brands (:meth:`check_brands`), each ``fault`` step by the
    stub world the run starts (:func:`run_scenario`). An error after a
    ``fault`` step waits for that check (:attr:`deferred`), so the one told
    is the first of the file."""

    def __init__(self, data: Dict[str, Json], path: Optional[Path] = None) -> None:
        self.data = data
        self.path = path
        self.name: str = data["name"]
        self.tick_minutes: int = data.get("tick_minutes", 15)
        self.wake_ups: bool = data.get("wake_ups", True) is not False
        self.start: int = parse_instant(data["start"], "start")
        self.steps: List[Dict[str, Json]] = data["steps"]
        #: The name messages give the file (:meth:`load`'s ``display``).
        self.display: Optional[str] = None
        #: The numbers of the ``fault`` steps the stub world checks before the run.
        self.fault_steps: List[int] = []
        #: The first error after a ``fault`` step, told once those pass.
        self.deferred: Optional[str] = None

    @staticmethod
    def parse(text: str, path: Optional[Path] = None, brands: Optional[Sequence[BrandInfo]] = None) -> "Scenario":
        """Parses and checks a scenario (the checks of the Rust runner; those
        of :meth:`check_brands` too when ``brands``, the component's, are given)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InvalidScenario(f"invalid scenario: {e}") from e
        if not isinstance(data, dict):
            raise InvalidScenario("invalid scenario: not a JSON object")
        for key, expected in (("name", str), ("start", str), ("steps", list)):
            if key not in data:
                raise InvalidScenario(f"invalid scenario: missing field `{key}`")
            if not isinstance(data[key], expected):
                raise InvalidScenario(f"invalid scenario: `{key}` has the wrong type")
        tick_minutes = data.get("tick_minutes", 15)
        if not isinstance(tick_minutes, int) or isinstance(tick_minutes, bool) or not 1 <= tick_minutes <= 24 * 60:
            raise InvalidScenario("tick_minutes must be between 1 and 1440")
        scenario = Scenario(data, path)
        brand_ids = None if brands is None else [b.id for b in brands]
        # Every step's fields first, as serde reads the whole file before the checks.
        for i, step in enumerate(scenario.steps):
            n = i + 1
            if not isinstance(step, dict):
                raise InvalidScenario(f"invalid scenario: step {n} is not an object")
            kind = step.get("do")
            if kind not in STEP_KINDS:
                raise InvalidScenario(f"invalid scenario: step {n}: unknown step kind {json.dumps(kind)}")
            try:
                _fields(_step_fields(kind, brand_ids), step)
            except _FieldError as e:
                raise InvalidScenario(f"step {n} ({kind}): {e}") from None
            step["_at"] = parse_instant(step.get("at"), f"step {n}: at")
        scenario._check_steps(brands)
        return scenario

    def check_brands(self, brands: Sequence[BrandInfo]) -> None:
        """The checks that need the component's brands: each step's
        ``provider`` is one of their ids, and each ``connect`` step gives
        every field of the brand's connect form the manager types (not
        host-supplied). Messages name the file as :meth:`load` does."""
        brand_ids = [b.id for b in brands]
        for i, step in enumerate(self.steps):
            if step["do"] in PROVIDER_STEPS and "provider" in step:
                try:
                    _variant(brand_ids)(step["provider"])
                except _FieldError as e:
                    raise self._invalid(f"step {i + 1} ({step['do']}): {e}") from None
        self._check_steps(brands)

    def _check_steps(self, brands: Optional[Sequence[BrandInfo]]) -> None:
        """The Rust runner's checks of the steps, in order (``connect``
        steps only with ``brands``); an error after a ``fault`` step is kept
        in :attr:`deferred`, the ``fault`` steps' numbers in :attr:`fault_steps`."""
        self.fault_steps = []
        self.deferred = None
        by_id = None if brands is None else {b.id: b for b in brands}
        previous = self.start
        for i, step in enumerate(self.steps):
            n, kind, at = i + 1, step["do"], step["_at"]
            message: Optional[str] = None
            if at < previous:
                message = f"step {n} ({kind}) at {_rfc3339_offset(at)} is before the previous step or the start"
            elif kind == "end" and n != len(self.steps):
                message = f"step {n}: `end` must be the last step"
            elif kind == "fault":
                self.fault_steps.append(n)
            elif kind == "connect" and by_id is not None and brands is not None:
                provider = step_provider(step, brands)
                brand = by_id.get(provider or "")
                if brand is None:
                    message = f"invalid scenario: step {n}: the plugin has no brand {json.dumps(provider)}"
                else:
                    missing = [f.name for f in brand.credentials if not f.host_supplied and step.get(f.name) is None]
                    if missing:
                        message = f"step {n} (connect {provider}): `{missing[0]}` is missing"
            previous = at
            if message is not None:
                self._later(message)
                return
        if not self.steps or self.steps[-1]["do"] != "end":
            self._later("the last step must be `end`")

    def _later(self, message: str) -> None:
        """Raises the error at once, or keeps it until the ``fault`` steps before it are checked."""
        if not self.fault_steps:
            raise self._invalid(message)
        self.deferred = message

    def _invalid(self, message: str) -> InvalidScenario:
        return InvalidScenario(message if self.display is None else f"{self.display}: {message}")

    def check_faults(self, stub: "StubProcess", brands: Sequence[BrandInfo]) -> None:
        """Has the stub world check each ``fault`` step (armed with count 0,
        which arms nothing: the world knows its brands' endpoints and fault
        kinds), then tells an error kept until then."""
        for n in self.fault_steps:
            step = self.steps[n - 1]
            refused = stub.check_fault(step, step_provider(step, brands) or "")
            if refused is not None:
                raise self._invalid(f"step {n}: {refused}")
        if self.deferred is not None:
            raise self._invalid(self.deferred)

    @staticmethod
    def load(
        path: Union[str, Path], display: Optional[str] = None, brands: Optional[Sequence[BrandInfo]] = None
    ) -> "Scenario":
        """Reads and checks a scenario file (see :meth:`parse`); messages name it ``display``."""
        shown = display if display is not None else str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            raise InvalidScenario(f"cannot read {shown}: {reason}") from e
        try:
            scenario = Scenario.parse(text, Path(path).resolve(), brands)
        except InvalidScenario as e:
            raise InvalidScenario(f"{shown}: {e}") from e
        scenario.display = shown
        return scenario


class StubProcess:
    """The vendor stubs in a ``host-harness stub`` process: its base URL and
    its admin API (clock, links, faults, lock-side truth). Its log goes to
    this process's stderr once it serves (``forward_stderr``); with
    ``hold_log``, only from :meth:`release_log` on (a run refused after the
    stub started is one line)."""

    def __init__(
        self,
        config_path: Union[str, Path],
        binary: Optional[Path] = None,
        forward_stderr: bool = True,
        hold_log: bool = False,
    ):
        binary = binary or paths.harness_binary()
        self.process = subprocess.Popen(
            [str(binary), "stub", "--config", str(config_path), "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._stderr_tail = b""
        self._forward = forward_stderr
        #: The log since the stub began serving, while it is held.
        self._held: Optional[List[bytes]] = [] if hold_log else None
        self._log_lock = threading.Lock()
        self._serving = threading.Event()
        self._reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self._reader.start()
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode("utf-8", "replace").strip()
        if not line:
            code = self.process.wait()
            self._reader.join(timeout=2)
            last = self._stderr_tail.decode("utf-8", "replace").strip().splitlines()
            message = re.sub(r"^error:\s*", "", last[-1]) if last else f"the stub exited with status {code}"
            if code == 2:
                raise InvalidScenario(message)
            raise RuntimeError(f"the vendor stub failed: {message}")
        self._serving.set()
        #: ``http://127.0.0.1:PORT``
        self.base = line
        self._now: Optional[int] = None

    def _drain_stderr(self) -> None:
        # The stub's log is forwarded once it serves; a stub that fails to
        # start becomes this process's one-line error instead.
        assert self.process.stderr is not None
        for chunk in iter(lambda: self.process.stderr.readline() if self.process.stderr else b"", b""):
            self._stderr_tail = (self._stderr_tail + chunk)[-8192:]
            if self._serving.is_set():
                with self._log_lock:
                    if self._held is not None:
                        self._held.append(chunk)
                    else:
                        self._write_log([chunk])

    def _write_log(self, chunks: List[bytes]) -> None:
        if self._forward and chunks:
            sys.stderr.buffer.write(b"".join(chunks))
            sys.stderr.flush()

    def release_log(self) -> None:
        """Forwards the log held so far (``hold_log``), and every line after it."""
        with self._log_lock:
            held, self._held = self._held, None
            self._write_log(held or [])

    def admin(self, method: str, route: str, body: Optional[Json] = None) -> Tuple[int, Json]:
        """One admin request: ``(status, JSON body)``."""
        return _admin_request(self.base, method, route, body)

    def _refusal(self, method: str, route: str, body: Optional[Json] = None) -> Tuple[Optional[str], Json]:
        """One admin request: ``(None, JSON body)``, or the stub's error and the body."""
        status, value = self.admin(method, route, body)
        if status == 200:
            return None, value
        error = value.get("error") if isinstance(value, dict) else None
        return str(error or f"the stub answered {status}"), value

    def _ok(self, method: str, route: str, body: Optional[Json] = None) -> Json:
        refused, value = self._refusal(method, route, body)
        if refused is not None:
            raise StepFailure(refused)
        return value

    def set_time(self, now: int) -> None:
        """Moves the stubs' clock (never back: the stub refuses)."""
        if self._now == now:
            return
        self._ok("POST", "time", {"now": now})
        self._now = now

    def set_online(self, provider: str, id: str, online: bool) -> None:
        """Takes the link carrying a brand's codes to its locks (a device by
        its id, or a lock's own link) off or on line."""
        self._ok("POST", "online", {"provider": provider, "id": id, "online": online})

    @staticmethod
    def _fault_body(step: Dict[str, Json], provider: str, count: int) -> Dict[str, Json]:
        body: Dict[str, Json] = {
            "provider": provider,
            "endpoint": step["endpoint"],
            "status": step.get("status") or 0,
            "count": count,
        }
        if step.get("kind") is not None:
            body["kind"] = step["kind"]
        if step.get("errcode") is not None:
            body["errcode"] = step["errcode"]
        return body

    def fault(self, step: Dict[str, Json], provider: str) -> None:
        """Arms a scenario's ``fault`` step."""
        self._ok("POST", "fault", self._fault_body(step, provider, step["count"]))

    def check_fault(self, step: Dict[str, Json], provider: str) -> Optional[str]:
        """Checks a scenario's ``fault`` step as the Rust runner does before
        a run (the stub knows its brands' endpoints and fault kinds): armed
        with count 0, which arms nothing. The stub's refusal, or ``None``."""
        return self._refusal("POST", "fault", self._fault_body(step, provider, 0))[0]

    def revoke_tokens(self, provider: str) -> None:
        self._ok("POST", "revoke-tokens", {"provider": provider})

    def pins(self) -> Json:
        """The report's ``pins``: every vendor's lock-side truth."""
        return self._ok("GET", "pins")

    def http(self) -> Json:
        """The report's ``http``: the requests the vendors received."""
        return self._ok("GET", "http")

    def shutdown(self) -> None:
        """Stops the process (politely, then by its pid)."""
        if self.process.poll() is not None:
            return
        try:
            self.admin("POST", "shutdown")
        except OSError:
            pass
        try:
            self.process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=2)
        if self.process.stdout is not None:
            self.process.stdout.close()
        if self.process.stderr is not None:
            self.process.stderr.close()

    def __enter__(self) -> "StubProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def _property(p: Dict[str, Json]) -> Property:
    return Property(
        id=p["id"],
        name=p["name"],
        timezone=p["timezone"],
        check_in_time=p.get("check_in_time"),
        check_out_time=p.get("check_out_time"),
    )


def _saturate(v: Optional[int]) -> Optional[int]:
    """An i64 from the file as the i32 the contract takes (saturating), as the Rust runner does."""
    if v is None:
        return None
    return max(-(2**31), min(2**31 - 1, int(v)))


def remote_json(r: RemotePath) -> Json:
    """How codes reach a lock, as reports spell it: ``{kind: via}`` for a
    link through a device, ``{kind: true}`` for a direct one."""
    return {r.kind: True if r.via is None else r.via}


def event_json(e: CodeEvent) -> Json:
    """A code event as reports spell it (``event_json`` of the Rust runner):
    snake-case states, the booking, property, brand, lock and shared door
    (R26) only where the event has them."""
    out: Dict[str, Json] = {"id": e.id, "at": utc(e.at), "state": e.kind.replace("-", "_")}
    for key, value in (
        ("booking", e.booking_id),
        ("property", e.property_id),
        ("provider", e.brand),
        ("lock", e.lock_id),
        ("door", e.door),
    ):
        if value is not None:
            out[key] = value
    if e.at_risk is not None:
        out["at_risk"] = e.at_risk
    out["detail"] = e.detail
    return out


def report_events(storage: KvStore) -> List[Json]:
    """Every recorded code event, in the order recorded, as reports spell them."""
    out: List[Json] = []
    after = 0
    while True:
        page = storage.events_after(after, EVENTS_PAGE)
        if not page:
            return out
        after = page[-1].seq
        out.extend(event_json(code_event_from_json(stored.json)) for stored in page)


def _stamp(t: Optional[int]) -> Optional[str]:
    return None if t is None else utc(t)


def _window_json(w: Optional[Window]) -> Json:
    if w is None:
        return None
    return {"start": utc(w.start), "end": utc(w.end), "start_local": w.start_local, "end_local": w.end_local}


def _fallback_json(f: Optional[FallbackCode]) -> Json:
    if f is None:
        return None
    return {"kind": f.kind, "pin": f.pin, "window": _window_json(f.window), "rule": f.rule, "revocable": f.revocable}


def _door_json(d: DoorCode) -> Json:
    """A booking's code on a shared door (R26) as reports spell it."""
    return {
        "provider": d.brand,
        "lock": d.lock_id,
        "door": d.door_name,
        "state": d.state.replace("-", "_"),
        "pin": d.pin,
        "window": _window_json(d.window),
        "last_error": d.last_error,
        "next_attempt": _stamp(d.next_attempt),
        "alert_sent": d.alert_sent,
        "fallback": _fallback_json(d.fallback),
    }


def status_json(s: CodeStatus) -> Json:
    """A code status as reports spell it."""
    # The Rust runner's one code-status shape (serve's keys), then the
    # step's original ``booking`` and ``lock``, in its key order (reports
    # are compared as text).
    out: Dict[str, Json] = {
        "booking_id": s.booking_id,
        "state": s.state.replace("-", "_"),
        "pin": s.pin,
        "provider": s.brand,
        "lock_id": s.lock_id,
        "window": _window_json(s.window),
        "create_at": _stamp(s.create_at),
        "last_error": s.last_error,
        "next_attempt": _stamp(s.next_attempt),
        "alert_sent": s.alert_sent,
        "fallback": _fallback_json(s.fallback),
    }
    # Only where the booking has codes on shared doors (R26): older reports stay as they were.
    if s.doors:
        out["doors"] = [_door_json(d) for d in s.doors]
    out["booking"] = s.booking_id
    out["lock"] = s.lock_id
    return out


class Driver:
    """Drives the plugin through a timeline exactly as the Rust runner's
    ``Driver``: regular ticks on multiples of ``tick_minutes`` from ``start``,
    wake-up ticks (R21) unless turned off, a tick at a step's instant before
    the step, ``more-due`` repeats, restarts."""

    def __init__(
        self, runtime: Runtime, stub: StubProcess, db: SqliteDb, start: int, tick_minutes: int, wake_ups: bool = True
    ) -> None:
        self.runtime = runtime
        self.stub = stub
        self.clock = SimClock(start)
        #: The component's brands (R30): ids, connect forms, origins.
        self.brands = list(runtime.brands())
        self.tenant = Tenant(
            id=TENANT,
            storage=db.tenant(TENANT),
            http=HttpClient(timeout=STUB_HTTP_TIMEOUT),
            clock=self.clock,
            routes=stub_routes(self.brands, stub.base),
        )
        self.plugin: TenantHandle = runtime.tenant(self.tenant)
        self.properties: Dict[str, Property] = {}
        #: The last message rendered per booking: what the guest holds.
        self.messages: Dict[str, str] = {}
        self.tick_secs = max(1, tick_minutes) * 60
        self.next_tick = start
        self.wake_ups = wake_ups
        self.ticks = 0
        self.tick_failures = 0
        self.wake_ticks = 0
        self.last_tick_at: Optional[int] = None
        self.stepped = False
        #: The host's own configuration per brand: the values of the connect
        #: form's host-supplied fields (a scenario's ``{brand}.app``).
        self.host_config: Dict[str, Dict[str, Json]] = {}

    def advance_to(self, t: int) -> None:
        """Moves the clock to ``t``, running every tick due on the way (one at ``t`` included)."""
        while True:
            wake = self._wake_up()
            if wake is not None and not wake < self.next_tick:
                wake = None
            at = self.next_tick if wake is None else wake
            if at > t:
                break
            self._tick(at)
            if wake is not None:
                self.wake_ticks += 1
            else:
                self.next_tick += self.tick_secs
        self._set_time(max(t, self.clock.now()))

    def _wake_up(self) -> Optional[int]:
        """The wake-up to honour now: not before the clock, and not an
        instant already ticked unless a step ran since."""
        if not self.wake_ups:
            return None
        asked = self.plugin.wake_up()
        if asked is None:
            return None
        at = max(asked, self.clock.now())
        if self.last_tick_at is not None and at <= self.last_tick_at and not self.stepped:
            return None
        return at

    def _set_time(self, t: int) -> None:
        self.clock.set(t)
        self.stub.set_time(t)

    def _tick(self, t: int) -> None:
        self._set_time(t)
        self.last_tick_at = t
        self.stepped = False
        for _ in range(MAX_TICK_REPEATS):
            self.ticks += 1
            try:
                if self.plugin.on_tick(t).more_due:
                    continue
                return
            except (PluginError, CallError) as e:
                _log.warning("%s at=%s error=%s", "tick failed" if isinstance(e, PluginError) else "tick trapped", utc(t), e)
                self.tick_failures += 1
                return

    def apply(self, step: Dict[str, Json]) -> Tuple[bool, Json]:
        """Applies one step at the current time: ``(True, result)`` or ``(False, error sentence)``."""
        self.stepped = True
        try:
            return True, self._apply(step)
        except (PluginError, CallError, StepFailure) as e:
            return False, str(e)

    def _apply(self, step: Dict[str, Json]) -> Json:
        p = self.plugin
        provider = step_provider(step, self.brands) or ""
        kind = step["do"]
        if kind == "connect":
            account = p.connect(provider, self._credentials(provider, step))
            return {"account": account.name}
        if kind == "disconnect":
            p.disconnect(provider)
            return {}
        if kind == "property":
            prop = _property(step["property"])
            p.on_property_changed(prop)
            self.properties[prop.id] = prop
            return {}
        if kind == "assign":
            a = p.assign(
                step["property"],
                provider,
                step["lock"],
                _saturate(step.get("days_before")),
                _saturate(step.get("margin_minutes")),
                _saturate(step.get("backup_codes")),
            )
            assigned: Dict[str, Json] = {
                "property": a.property_id,
                "provider": provider,
                "lock": a.lock_id,
                "lock_name": a.lock_name,
                "remote": remote_json(a.remote),
                "days_before": a.days_before,
                "margin_minutes": a.margin_minutes,
            }
            # Only where there is a pool (R25): older reports stay as they were.
            if a.backup_codes > 0:
                assigned["backup_codes"] = a.backup_codes
            return assigned
        if kind == "unassign":
            p.unassign(step["property"])
            return {}
        if kind == "share_door":
            door = p.share_door(step["property"], provider, step["lock"])
            return {"property": door.property_id, "provider": provider, "lock": door.lock_id, "name": door.lock_name}
        if kind == "unshare_door":
            p.unshare_door(step["property"], provider, step["lock"])
            return {}
        if kind == "booking":
            b = step["booking"]
            known = self.properties.get(b["property"])
            if known is None:
                raise StepFailure(f'unknown property "{b["property"]}": add it with a `property` step first')
            booking = Booking(
                id=b["id"],
                property_id=b["property"],
                guest_name=b.get("guest_name"),
                check_in=b["check_in"],
                check_out=b["check_out"],
                check_in_time=b.get("check_in_time"),
                check_out_time=b.get("check_out_time"),
                status=b["status"],
            )
            p.on_booking_changed(BookingEvent(booking=booking, property=known))
            return {}
        if kind == "bridge":
            self.stub.set_online(provider, step["bridge"], step["online"])
            return {"provider": provider, "bridge": step["bridge"], "online": step["online"]}
        if kind == "fault":
            self.stub.fault(step, provider)
            result: Dict[str, Json] = {
                "provider": provider,
                "endpoint": step["endpoint"],
                "status": step.get("status") or 0,
                "count": step["count"],
            }
            # What was armed, as the step said it (as the Rust runner reports it).
            if step.get("kind") is not None:
                result["kind"] = step["kind"]
            if step.get("errcode") is not None:
                result["errcode"] = step["errcode"]
            return result
        if kind == "revoke_tokens":
            self.stub.revoke_tokens(provider)
            return {}
        if kind == "render":
            # As the Rust runner: a variable whose call fails is left as
            # written, and the step fails with the (last) error.
            failure: List[Exception] = []

            def resolve(name: str) -> Optional[str]:
                try:
                    return p.render_variable(name, step["booking"])
                except CallError as e:
                    failure.append(e)
                    return None

            output = substitute(step["template"], resolve)
            if failure:
                raise failure[-1]
            self.messages[step["booking"]] = output
            return {"output": output}
        if kind == "try_pin":
            # As the Rust runner: a PIN, or every 4- to 12-digit number of
            # the guest's last message (or of {{smartlock_code}} now), typed
            # on the stub's lock; a PIN that opens counts as typed.
            if step.get("pin") is not None:
                pins = [str(step["pin"])]
            elif step.get("booking") is not None:
                message = self.messages.get(step["booking"])
                if message is None:
                    message = p.render_variable("smartlock_code", step["booking"]) or ""
                pins = re.findall(r"(?<![0-9])[0-9]{4,12}(?![0-9])", message)
            else:
                raise StepFailure("try_pin needs `pin` or `booking`")
            opens = False
            for pin in pins:
                answer = self.stub._ok("POST", "try-pin", {"provider": provider, "lock": step["lock"], "pin": pin})
                opens = bool(answer.get("opens")) or opens
            return {"opens": opens, "tried": len(pins)}
        if kind == "status":
            return status_json(p.booking_status(step["booking"]))
        if kind == "restart":
            # A host restart: engine, instances, turns and wake-ups are gone;
            # only the durable storage (and the vendors) remain.
            self.runtime = self.runtime.restarted()
            self.plugin = self.runtime.tenant(self.tenant)
            return {}
        return {}

    def _credentials(self, provider: str, step: Dict[str, Json]) -> List[Credential]:
        """The step's credential fields (any brand's form field it gives, by
        name), then the brand's host-supplied fields it leaves out, from the
        host's configuration, as a PMS adds its own."""
        brands = self.runtime.brands()
        names: List[str] = []
        for b in brands:
            for f in b.credentials:
                if f.name not in names:
                    names.append(f.name)
        given = [Credential(name, str(step[name])) for name in names if step.get(name) is not None]
        brand = next((b for b in brands if b.id == provider), None)
        config = self.host_config.get(provider, {})
        for f in brand.credentials if brand is not None else ():
            if f.host_supplied and not any(c.name == f.name for c in given):
                value = config.get(f.name)
                given.append(Credential(f.name, value if isinstance(value, str) else ""))
        return given


def run_scenario(
    scenario: Scenario,
    runtime: Optional[Runtime] = None,
    binary: Optional[Path] = None,
    forward_stub_stderr: bool = True,
) -> Dict[str, Json]:
    """Runs a scenario to its ``end`` step and returns the report (the
    object ``host-harness scenario`` prints). The stub world checks the
    file's worlds as it starts, then its ``fault`` steps
    (:meth:`Scenario.check_faults`); its log is held until they pass."""
    if scenario.path is None:
        raise ValueError("the stub reads the scenario's file: load it with Scenario.load")
    runtime = runtime or Runtime(RuntimeConfig(paths.plugin_component()))
    brands = list(runtime.brands())
    scenario.check_brands(brands)
    with tempfile.TemporaryDirectory(prefix="smartlock-py-scenario-") as folder:
        stub = StubProcess(scenario.path, binary=binary, forward_stderr=forward_stub_stderr, hold_log=True)
        db = SqliteDb(Path(folder) / "harness.sqlite")
        try:
            scenario.check_faults(stub, brands)
            stub.release_log()
            driver = Driver(runtime, stub, db, scenario.start, scenario.tick_minutes, scenario.wake_ups)
            for brand in brands:
                world = scenario.data.get(brand.id)
                if isinstance(world, dict) and isinstance(world.get("app"), dict):
                    driver.host_config[brand.id] = world["app"]
            steps: List[Dict[str, Json]] = []
            for step in scenario.steps:
                driver.advance_to(step["_at"])
                if step["do"] == "end":
                    break
                ok, value = driver.apply(step)
                entry: Dict[str, Json] = {"at": utc(step["_at"]), "do": step["do"], "ok": ok}
                entry["result" if ok else "error"] = value
                steps.append(entry)
            # The fields the Rust runner's report has, in its order (the
            # stub's admin API may tell more).
            pins = [{key: p.get(key) for key in PIN_FIELDS} for p in stub.pins()]
            counts = stub.http()
            requests = {"requests": counts["requests"], "by_endpoint": counts["by_endpoint"]}
            emails = [
                {"at": utc(e.at), "to": "owner", "subject": e.subject, "body": e.body}
                for e in db.tenant(TENANT).emails()
            ]
            events = report_events(db.tenant(TENANT))
            return {
                "scenario": scenario.name,
                "steps": steps,
                "pins": pins,
                "emails": emails,
                "events": events,
                "http": requests,
                "ticks": {"count": driver.ticks, "failed": driver.tick_failures, "wake_ups": driver.wake_ticks},
            }
        finally:
            stub.shutdown()
            db.close()


def report_text(report: Dict[str, Json]) -> str:
    """The report as ``host-harness scenario`` prints it (serde_json's pretty form)."""
    return json.dumps(report, indent=2, ensure_ascii=False)
