"""The sandbox: the plugin component loaded once, called per tenant.

As smartlock-host does it with wasmtime's Rust API: the ``Engine``, the
``Component`` and the ``Linker`` (with every import defined) are made once
per :class:`Runtime`; every call gets a fresh ``Store`` and so a fresh
instance, with limits on it. A trap (panic, time limit, memory cap, a host
import that raised) fails that one call with :class:`TrapError`; the next
call starts from a clean instance.

- **Time.** A thread advances the engine's epoch every
  :attr:`RuntimeConfig.epoch_tick`; each call's store gets an epoch
  deadline of :attr:`RuntimeConfig.call_timeout` of *plugin* time. wasmtime-py
  has no deadline callback, so every import, on its way back into the guest,
  moves the deadline to what is left of the plugin's time (time blocked in
  the host, e.g. waiting for a vendor, is not counted) and of the call's
  wall time (:attr:`RuntimeConfig.call_wall_limit`); HTTP requests get only
  the wall time that is left. An endless loop traps with ``interrupt``.
- **Memory.** The store's limiter caps linear memory at
  :attr:`RuntimeConfig.memory_limit` (and tables, instances, memories):
  growing past it is refused, the guest's allocator aborts and the call
  traps.
- **Imports.** The contract's interfaces and ``wasi:random`` (from
  ``os.urandom``), nothing else (R23); a component that imports anything
  more is refused when it loads.
- **Concurrency.** Calls of one tenant id take turns (a lock per id,
  shared by every :class:`TenantHandle` of that id); different tenants run
  in parallel threads (wasm runs without the GIL), at most
  :attr:`RuntimeConfig.max_instances` at once.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import time
import weakref
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, TypeVar, Union

import wasmtime
from wasmtime import component as wc

from . import _compat, contract
from .clock import Clock, SystemClock
from .contract import (
    Account,
    Assignment,
    BookingEvent,
    BrandId,
    BrandInfo,
    CodeStatus,
    Credential,
    LockInfo,
    Property,
    SharedDoor,
    TickSummary,
    learn_brand_names,
)
from .errors import CallError, HttpError, InstantiateError, PluginError, StorageError, TrapError
from .http import HttpBackend, HttpClient, HttpRequest, VendorRoutes, parse_target
from .storage import KvStore, MemoryStore, WriteDelete, WriteSet
from .template import substitute
from .wakeups import WakeUps

_log = logging.getLogger("smartlock_host")
_plugin_log = logging.getLogger("smartlock_host.plugin")

#: Log lines the guest may write per call; later ones are dropped.
MAX_LOG_LINES_PER_CALL = 10_000
#: Longest plugin log message kept, in bytes.
MAX_LOG_MESSAGE_BYTES = 8 * 1024
#: Longest dedup key, subject and body the ``email`` import accepts, in bytes.
MAX_DEDUP_KEY_BYTES = 512
MAX_SUBJECT_BYTES = 1024
MAX_BODY_BYTES = 64 * 1024
#: Longest code event id, and longest event as recorded (JSON), in bytes.
MAX_EVENT_ID_BYTES = 512
MAX_EVENT_BYTES = 16 * 1024
#: Random bytes one ``get-random-bytes`` call may ask for.
MAX_RANDOM_BYTES = 64 * 1024
#: The level of the plugin's `trace` lines (below DEBUG).
_TRACE = 5
logging.addLevelName(_TRACE, "TRACE")

_PLUGIN_LEVELS: Dict[str, int] = {
    "trace": _TRACE,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}

T = TypeVar("T")


@dataclass
class RuntimeConfig:
    """How the runtime loads the plugin and limits its calls."""

    #: The plugin component: a file or its bytes.
    component: Union[str, Path, bytes]
    #: A folder for the compiled component, reused while the component and
    #: wasmtime are unchanged; ``None``: compile at every start (about a second).
    cache_dir: Optional[Path] = None
    #: Plugin time one call may use, in seconds.
    call_timeout: float = 5.0
    #: Time one call may take in all, host imports included, in seconds.
    call_wall_limit: float = 60.0
    #: Linear memory cap per instance, in bytes.
    memory_limit: int = 64 << 20
    #: Table size cap per table.
    table_elements: int = 20_000
    #: Calls running at once; more wait for a free slot (up to ``call_wall_limit``).
    max_instances: int = 32
    #: Epoch period in seconds: the granularity of the time limit.
    epoch_tick: float = 0.01


_DEFAULT_HTTP: Optional[HttpClient] = None
_DEFAULT_HTTP_LOCK = threading.Lock()


def default_http() -> HttpClient:
    """The shared real HTTP client with the default timeout (10 s) and cap (1 MiB)."""
    global _DEFAULT_HTTP
    with _DEFAULT_HTTP_LOCK:
        if _DEFAULT_HTTP is None:
            _DEFAULT_HTTP = HttpClient()
        return _DEFAULT_HTTP


@dataclass
class Tenant:
    """One PMS account as the host sees it: the backends behind its imports.

    Only ``id`` and ``storage`` are needed: the HTTP client defaults to the
    shared :class:`HttpClient`, the clock to the system clock and the
    allow-list to every origin of the component's brands
    (:meth:`VendorRoutes.all_brands`, spelled out by :meth:`Runtime.tenant`).
    """

    #: The PMS account id: the key of its turn, its wake-up and every log line.
    id: str
    #: Its key-value namespace and e-mail outbox (e.g. ``SqliteDb.tenant(id)``).
    storage: KvStore
    #: The transport for requests that passed the allow-list.
    http: HttpBackend = field(default_factory=default_http)
    #: Its clock (the plugin's only clock).
    clock: Clock = field(default_factory=SystemClock)
    #: The vendor origins it may reach and where each is sent.
    routes: VendorRoutes = field(default_factory=VendorRoutes.all_brands)

    def with_http(self, http: HttpBackend) -> "Tenant":
        return replace(self, http=http)

    def with_clock(self, clock: Clock) -> "Tenant":
        return replace(self, clock=clock)

    def with_routes(self, routes: VendorRoutes) -> "Tenant":
        return replace(self, routes=routes)


# ---- the call in progress ---------------------------------------------------------


class _Call:
    """One call's state: its tenant, limits, time accounting and log budget."""

    def __init__(self, runtime: "Runtime", tenant: Tenant, store: wasmtime.Store, export: str, call_timeout: float):
        self.tenant = tenant
        self.wake_ups = runtime.wake_ups
        self.store = store
        self.export = export
        self.guest_limit = call_timeout
        self.wall_limit = runtime.config.call_wall_limit
        self.tick = runtime.config.epoch_tick
        self.started = time.monotonic()
        self.host_time = 0.0
        self.log_lines = 0
        self.last_error_log: Optional[str] = None
        self.host_failure: Optional[Tuple[str, BaseException]] = None

    def guest_elapsed(self) -> float:
        return time.monotonic() - self.started - self.host_time

    def wall_remaining(self) -> float:
        return max(0.0, self.started + self.wall_limit - time.monotonic())

    def ticks_left(self) -> int:
        left = min(self.guest_limit - self.guest_elapsed(), self.wall_remaining())
        return max(1, math.ceil(left / self.tick)) if left > 0 else 1


_local = threading.local()


def _current() -> _Call:
    call: Optional[_Call] = getattr(_local, "call", None)
    if call is None:
        raise RuntimeError("a plugin import ran outside a plugin call")
    return call


def _host(name: str, impl: Callable[..., Any]) -> Callable[..., Any]:
    """An import: runs ``impl(call, *args)`` as host time, then gives the
    guest back what is left of its time; an exception is a host failure
    (the call traps and says which import failed)."""

    def import_function(_store: Any, *args: Any) -> Any:
        call = _current()
        started = time.monotonic()
        try:
            return impl(call, *args)
        except BaseException as e:
            if call.host_failure is None:
                call.host_failure = (name, e)
            raise
        finally:
            call.host_time += time.monotonic() - started
            call.store.set_epoch_deadline(call.ticks_left())

    return import_function


def _truncate(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", "ignore")


def _host_log(level: int, tenant: str, message: str, /, **fields: Any) -> None:
    if _log.isEnabledFor(level):
        extra = "".join(f" {k}={v!r}" if isinstance(v, str) else f" {k}={v}" for k, v in fields.items())
        _log.log(level, "%s%s", message, extra, extra={"tenant": tenant})


# ---- the imports ---------------------------------------------------------------


def _clock_now(call: _Call) -> int:
    return int(call.tenant.clock.now())


def _wake_at(call: _Call, at: Optional[int]) -> None:
    call.wake_ups.set(call.tenant.id, at)


def _log_line(call: _Call, level: str, message: str) -> None:
    if level == "error":
        # Kept even past the budget: a panic's message, logged just before
        # the trap, describes the failed call.
        call.last_error_log = _truncate(message, MAX_LOG_MESSAGE_BYTES)
    call.log_lines += 1
    if call.log_lines == MAX_LOG_LINES_PER_CALL + 1:
        _host_log(
            logging.WARNING,
            call.tenant.id,
            f"plugin log budget of {MAX_LOG_LINES_PER_CALL} lines per call spent; dropping the rest",
        )
    if call.log_lines > MAX_LOG_LINES_PER_CALL:
        return
    _plugin_log.log(
        _PLUGIN_LEVELS.get(level, logging.INFO),
        "%s",
        _truncate(message, MAX_LOG_MESSAGE_BYTES),
        extra={"tenant": call.tenant.id},
    )


def _send_to_owner(call: _Call, dedup_key: str, subject: str, body: str) -> Optional[_compat.WitErr]:
    for what, value, cap in (
        ("dedup-key", dedup_key, MAX_DEDUP_KEY_BYTES),
        ("subject", subject, MAX_SUBJECT_BYTES),
        ("body", body, MAX_BODY_BYTES),
    ):
        n = len(value.encode("utf-8"))
        if n > cap:
            return _compat.WitErr(f"{what} of {n} bytes exceeds {cap} bytes")
    if dedup_key == "":
        return _compat.WitErr("dedup-key is empty")
    tenant = call.tenant
    at = int(tenant.clock.now())
    try:
        queued = tenant.storage.record_email(dedup_key, at, subject, body)
    except StorageError as e:
        _host_log(logging.WARNING, tenant.id, "e-mail could not be queued", dedup_key=dedup_key, error=str(e))
        return _compat.WitErr(str(e))
    if queued:
        _host_log(logging.INFO, tenant.id, "e-mail to the owner queued", dedup_key=dedup_key, at=at)
    else:
        _host_log(logging.DEBUG, tenant.id, "e-mail already sent for this key; dropped", dedup_key=dedup_key)
    return None


def _report_event(call: _Call, event: Any) -> Optional[_compat.WitErr]:
    """``code-events.report``: records the event under its id, once (the
    plugin reports at least once: a repeated id is dropped)."""
    tenant = call.tenant
    n = len(str(event.id).encode("utf-8"))
    if not 1 <= n <= MAX_EVENT_ID_BYTES:
        return _compat.WitErr(f"event id of {n} bytes is not 1 to {MAX_EVENT_ID_BYTES} bytes")
    e = contract.code_event_from_wit(event)
    body = contract.code_event_to_json(e)
    size = len(body.encode("utf-8"))
    if size > MAX_EVENT_BYTES:
        return _compat.WitErr(f"event of {size} bytes exceeds {MAX_EVENT_BYTES} bytes")
    try:
        recorded = tenant.storage.record_event(e.id, e.at, body)
    except StorageError as err:
        _host_log(logging.WARNING, tenant.id, "code event could not be recorded", id=e.id, error=str(err))
        return _compat.WitErr(str(err))
    if recorded:
        _host_log(logging.DEBUG, tenant.id, "code event recorded", id=e.id, kind=e.kind)
    else:
        _host_log(logging.DEBUG, tenant.id, "code event already recorded; dropped", id=e.id)
    return None


def _storage_error(call: _Call, op: str, e: StorageError) -> _compat.WitErr:
    if e.kind == "unavailable":
        _host_log(logging.WARNING, call.tenant.id, "storage failed", op=op, message=e.detail)
    return _compat.WitErr(wc.Variant(e.kind, e.detail))


def _storage_get(call: _Call, key: str) -> Any:
    try:
        return call.tenant.storage.get(key)
    except StorageError as e:
        return _storage_error(call, "get", e)


def _storage_apply(call: _Call, writes: List[Any]) -> Any:
    # `write` is an untagged variant here: `set(entry)` is a Record, `delete(key)` a str.
    batch = [WriteDelete(w) if isinstance(w, str) else WriteSet(w.key, w.value) for w in writes]
    try:
        call.tenant.storage.apply(batch)
        return None
    except StorageError as e:
        return _storage_error(call, "apply", e)


def _storage_set(call: _Call, key: str, value: bytes) -> Any:
    return _storage_apply(call, [contract.record(key=key, value=value)])


def _storage_delete(call: _Call, key: str) -> Any:
    return _storage_apply(call, [key])


def _storage_list(call: _Call, prefix: str, start_after: Optional[str], limit: int) -> Any:
    try:
        entries = call.tenant.storage.list(prefix, start_after, limit)
    except StorageError as e:
        return _storage_error(call, "list", e)
    return [contract.record(key=k, value=v) for k, v in entries]


def _http_error(e: HttpError) -> _compat.WitErr:
    if e.kind == "timeout":
        return _compat.WitErr(wc.Variant("timeout"))
    if e.kind == "too-large":
        return _compat.WitErr(wc.Variant("too-large", int(e.detail)))
    return _compat.WitErr(wc.Variant(e.kind, str(e.detail)))


def _http_send(call: _Call, request: Any) -> Any:
    tenant = call.tenant
    method = str(request.method).upper()
    try:
        target = parse_target(request.url)
        url = tenant.routes.route(target)
    except HttpError as e:
        _host_log(logging.WARNING, tenant.id, "plugin HTTP request refused", method=method, error=str(e))
        return _http_error(e)
    # Never headers, query or bodies: the token request carries secrets.
    where = {"method": method, "origin": target.origin, "path": target.path}
    timeout = call.wall_remaining()
    if timeout <= 0:
        _host_log(logging.WARNING, tenant.id, "plugin HTTP request refused: the call's time is up", **where)
        return _http_error(HttpError("timeout"))
    routed = HttpRequest(
        method=method,  # type: ignore[arg-type]
        url=url,
        headers=[(str(n), str(v)) for n, v in request.headers],
        body=bytes(request.body),
        timeout=timeout,
    )
    started = time.monotonic()
    try:
        response = tenant.http.send(routed)
    except HttpError as e:
        ms = round((time.monotonic() - started) * 1000)
        _host_log(logging.DEBUG, tenant.id, "vendor request failed", **where, error=str(e), ms=ms)
        return _http_error(e)
    ms = round((time.monotonic() - started) * 1000)
    _host_log(logging.DEBUG, tenant.id, "vendor request", **where, status=response.status, ms=ms)
    return contract.record(status=response.status, headers=list(response.headers), body=bytes(response.body))


def _random_bytes(call: _Call, n: int) -> bytes:
    if n > MAX_RANDOM_BYTES:
        raise ValueError(f"the plugin asked for {n} random bytes (at most {MAX_RANDOM_BYTES} per call)")
    return os.urandom(n)


def _random_u64(call: _Call) -> int:
    return int.from_bytes(os.urandom(8), "little")


#: Every function this host links, per interface: the contract's imports and
#: `wasi:random`, nothing else (R23).
_IMPORTS: Dict[str, Dict[str, Callable[..., Any]]] = {
    contract.interface("types"): {},
    contract.interface("clock"): {"now": _clock_now},
    contract.interface("scheduler"): {"wake-at": _wake_at},
    contract.interface("log"): {"log": _log_line},
    contract.interface("email"): {"send-to-owner": _send_to_owner},
    contract.interface("code-events"): {"report": _report_event},
    contract.interface("storage"): {
        "get": _storage_get,
        "set": _storage_set,
        "delete": _storage_delete,
        "apply": _storage_apply,
        "list": _storage_list,
    },
    contract.interface("http"): {"send": _http_send},
    contract.WASI_RANDOM: {"get-random-bytes": _random_bytes, "get-random-u64": _random_u64},
}


def _engine(config: RuntimeConfig) -> wasmtime.Engine:
    wasm = wasmtime.Config()
    wasm.wasm_component_model = True
    wasm.epoch_interruption = True
    return wasmtime.Engine(wasm)


def _epoch_ticker(engine: wasmtime.Engine, tick: float, stop: threading.Event) -> None:
    weak = weakref.ref(engine)
    del engine

    def run() -> None:
        while not stop.wait(tick):
            engine = weak()
            if engine is None:
                return
            engine.increment_epoch()
            del engine

    threading.Thread(target=run, name="wasm-epoch", daemon=True).start()


def _duration(seconds: float) -> str:
    """A duration as Rust's ``Duration`` Debug writes the round ones: ``5s``, ``300ms``."""
    ms = round(seconds * 1000)
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    if ms >= 1000:
        return f"{seconds:g}s"
    return f"{ms}ms"


def _root_cause(error: BaseException) -> str:
    text = str(error)
    if "Caused by:" in text:
        text = text.rsplit("Caused by:", 1)[1]
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    cause = lines[-1] if lines else type(error).__name__
    if ":" in cause and cause.split(":", 1)[0].isdigit():
        cause = cause.split(":", 1)[1].strip()
    return cause.removeprefix("wasm trap: ")


class Runtime:
    """The loaded plugin. Share one per process; thread-safe."""

    def __init__(self, config: RuntimeConfig) -> None:
        _compat.install()
        self.config = config
        self.engine = _engine(config)
        started = time.monotonic()
        data = config.component if isinstance(config.component, bytes) else Path(config.component).read_bytes()
        self.component_size = len(data)
        self.component = self._load(data)
        self.load_time = time.monotonic() - started
        self._setup()

    @classmethod
    def from_precompiled(cls, compiled: bytes, config: RuntimeConfig) -> "Runtime":
        """Loads a component compiled earlier by :meth:`serialize` (with this
        wasmtime version). Only load bytes this process or its cache wrote:
        they are machine code, run as they are."""
        _compat.install()
        runtime = cls.__new__(cls)
        runtime.config = config
        runtime.engine = _engine(config)
        started = time.monotonic()
        runtime.component_size = len(compiled)
        runtime.component = wc.Component.deserialize(runtime.engine, compiled)
        runtime.load_time = time.monotonic() - started
        runtime._setup()
        return runtime

    def _load(self, data: bytes) -> wc.Component:
        cache = self.config.cache_dir
        if cache is None:
            return wc.Component(self.engine, data)
        digest = hashlib.sha256(data + _compat.installed_version().encode()).hexdigest()[:16]
        path = Path(cache) / f"smartlock-plugin-{digest}.pycwasm"
        if path.is_file():
            try:
                return wc.Component.deserialize_file(self.engine, str(path))
            except wasmtime.WasmtimeError as e:
                _log.warning("the cached compiled plugin %s could not be loaded: %s", path, e)
        component = wc.Component(self.engine, data)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(bytes(component.serialize()))
            tmp.replace(path)
        except OSError as e:
            _log.warning("the compiled plugin could not be cached in %s: %s", cache, e)
        return component

    def _setup(self) -> None:
        engine = self.engine
        imports = self.imports()
        extra = [name for name in imports if name not in contract.IMPORTS]
        if extra:
            raise ValueError(
                f"the component imports {', '.join(extra)}, which this host does not provide "
                "(it links the contract's interfaces and wasi:random only)"
            )
        self._exports: Dict[str, Any] = {}
        for iface, names in contract.EXPORTS.items():
            iface_index = self.component.get_export_index(iface)
            if iface_index is None:
                raise ValueError(f"the component does not export {iface}")
            for name in names:
                index = self.component.get_export_index(name, iface_index)
                if index is None:
                    raise ValueError(f"the component does not export {iface}#{name}")
                self._exports[name] = index
        self.linker = wc.Linker(engine)
        with self.linker.root() as root:
            for iface, functions in _IMPORTS.items():
                with root.add_instance(iface) as instance:
                    for name, impl in functions.items():
                        instance.add_func(name, _host(f"{iface.split('/')[-1].split('@')[0]}.{name}", impl))
        list_u8 = self._list_u8_type()
        if list_u8 is not None:
            _compat.verify_bytes_fast_path(list_u8)
        self._export_types: Dict[str, _compat.ExportTypes] = {}
        self._brands: Optional[Tuple[BrandInfo, ...]] = None
        self._brands_lock = threading.Lock()
        self.wake_ups = WakeUps()
        self._turns: "weakref.WeakValueDictionary[str, _Turn]" = weakref.WeakValueDictionary()
        self._turns_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, self.config.max_instances))
        self._stop = threading.Event()
        _epoch_ticker(engine, self.config.epoch_tick, self._stop)
        weakref.finalize(self, self._stop.set)

    def _list_u8_type(self) -> Optional[wc.ListType]:
        for name, item in self.component.type.imports(self.engine).items():
            if name == contract.WASI_RANDOM and isinstance(item.ty, wc.ComponentInstanceType):
                for fname, func in item.ty.exports(self.engine).items():
                    ty = func.ty
                    if fname == "get-random-bytes" and isinstance(ty, wc.FuncType) and isinstance(ty.result, wc.ListType):
                        return ty.result
        return None

    def imports(self) -> List[str]:
        """The interfaces the component imports, e.g. ``pms:smartlock/http@0.3.0``
        (R23: the contract's and ``wasi:random/random@0.2.0``, nothing else)."""
        return list(self.component.type.imports(self.engine).keys())

    def serialize(self) -> bytes:
        """The compiled component, for :meth:`from_precompiled`."""
        return bytes(self.component.serialize())

    def restarted(self) -> "Runtime":
        """The same compiled component in a new runtime: a new engine, no
        wake-ups, no turns (what a process restart leaves), without
        compiling again."""
        return Runtime.from_precompiled(self.serialize(), self.config)

    def close(self) -> None:
        """Stops the epoch thread (also done when the runtime is collected)."""
        self._stop.set()

    def brands(self) -> Tuple[BrandInfo, ...]:
        """The brands the component manages (``admin.brands``, R30), in the
        order a panel shows them: their connect forms and origins. Asked
        once, on a scratch instance that can reach nothing; empty if that
        call fails (logged)."""
        with self._brands_lock:
            if self._brands is None:
                scratch = Tenant("brands", MemoryStore(), routes=VendorRoutes())
                handle = TenantHandle(self, scratch, _Turn(), self.config.call_timeout)
                try:
                    self._brands = handle.brands()
                    learn_brand_names(self._brands)
                except (PluginError, CallError) as e:
                    _log.error("the component did not list its brands: %s", e)
                    self._brands = ()
            return self._brands

    def brand(self, brand_id: str) -> Optional[BrandInfo]:
        """The brand of that id, if the component has it."""
        return next((b for b in self.brands() if b.id == brand_id), None)

    def tenant(self, tenant: Tenant) -> "TenantHandle":
        """A handle to call the plugin as ``tenant``. Handles of one tenant
        id take turns, whichever handle they come from. A tenant with the
        default allow-list (:meth:`VendorRoutes.all_brands`) gets every
        origin of :meth:`brands`."""
        if tenant.routes.is_all_brands:
            tenant = tenant.with_routes(tenant.routes.expanded(self.brands()))
        with self._turns_lock:
            turn = self._turns.get(tenant.id)
            if turn is None:
                turn = _Turn()
                self._turns[tenant.id] = turn
        return TenantHandle(self, tenant, turn, self.config.call_timeout)


class _Turn:
    """A tenant's lock (weakly kept by the runtime, held by its handles)."""

    __slots__ = ("lock", "__weakref__")

    def __init__(self) -> None:
        self.lock = threading.Lock()


class PluginInstance:
    """One instance in its store, for several raw calls
    (:meth:`TenantHandle.with_instance`)."""

    def __init__(self, runtime: Runtime, store: wasmtime.Store, instance: wc.Instance) -> None:
        self._runtime = runtime
        self._store = store
        self._instance = instance

    def call(self, export: str, *args: Any) -> Any:
        """Calls an export by its WIT name with wasmtime-py values; returns
        wasmtime-py's value (a ``Variant`` for the ``error`` case)."""
        runtime = self._runtime
        func = self._instance.get_func(self._store, runtime._exports[export])
        assert func is not None
        types = runtime._export_types.get(export)
        if types is None:
            types = runtime._export_types[export] = _compat.export_types(func, self._store)
        return _compat.call_export(func, self._store, types, args)


class TenantHandle:
    """Calls the plugin as one tenant. Every method waits for the tenant's
    previous call and raises :class:`PluginError` (the plugin's refusal:
    show ``str(e)``) or :class:`CallError` (a trap, for operators)."""

    def __init__(self, runtime: Runtime, tenant: Tenant, turn: _Turn, call_timeout: float) -> None:
        self.runtime = runtime
        self.tenant = tenant
        self._turn = turn
        self.call_timeout = call_timeout

    @property
    def id(self) -> str:
        return self.tenant.id

    def with_call_timeout(self, seconds: float) -> "TenantHandle":
        """The same tenant with another plugin-time limit per call."""
        return TenantHandle(self.runtime, self.tenant, self._turn, seconds)

    # ---- events ---------------------------------------------------------------

    def on_booking_changed(self, event: BookingEvent) -> None:
        """A booking was created, changed or cancelled (send it whole, with its
        property). The plugin plans its code; no vendor call, so it is fast."""
        self._result("on-booking-changed", lambda i: i.call("on-booking-changed", contract.booking_event_to_wit(event)))

    def on_property_changed(self, property: Property) -> None:
        """A property was created or changed; its codes are re-planned (R14)."""
        self._result("on-property-changed", lambda i: i.call("on-property-changed", contract.property_to_wit(property)))

    def on_tick(self, now: Optional[int] = None) -> TickSummary:
        """The periodic tick at ``now`` (default: the tenant's clock): every 1
        to 15 minutes and at :meth:`wake_up`; call again at once while
        ``more_due``. It may wait on the vendor."""
        at = int(self.tenant.clock.now() if now is None else now)
        try:
            value = self._result("on-tick", lambda i: i.call("on-tick", at))
        except (PluginError, CallError):
            # A failed tick left its wake-up in the past: drop it, so that a
            # host loop does not tick this tenant again at once, forever.
            wake = self.wake_up()
            if wake is not None and wake <= at:
                self.runtime.wake_ups.set(self.tenant.id, None)
            raise
        return contract.tick_summary_from_wit(value)

    def wake_up(self) -> Optional[int]:
        """The instant this tenant's plugin last asked to be ticked at, or ``None``."""
        return self.runtime.wake_ups.next(self.tenant.id)

    # ---- messages -------------------------------------------------------------

    def render_variable(self, name: str, booking_id: str) -> Optional[str]:
        """A message variable's value (``smartlock_code``, ``nuki_code``), or
        ``None``: leave the variable for other plugins (R19)."""
        value = self._call("render-variable", lambda i: i.call("render-variable", name, booking_id))
        return None if value is None else str(value)

    def render(self, template: str, booking_id: str) -> str:
        """Substitutes the plugin's variables in a guest message (R20), one
        call per variable; others are left as written."""
        return substitute(template, lambda name: self.render_variable(name, booking_id))

    # ---- admin ------------------------------------------------------------------

    def brands(self) -> Tuple[BrandInfo, ...]:
        """The brands the plugin manages, with their connect forms (R30);
        :meth:`Runtime.brands` keeps them for the process."""
        return tuple(contract.brand_from_wit(b) for b in self._call("brands", lambda i: i.call("brands")))

    def connect(self, brand: BrandId, credentials: Union[Mapping[str, str], Sequence[Credential]]) -> Account:
        """Checks the credentials against the brand and stores them (R1).
        ``credentials``: the fields of the brand's connect form
        (:attr:`BrandInfo.credentials`) by name, as a mapping or a list."""
        given = (
            [Credential(name, value) for name, value in credentials.items()]
            if isinstance(credentials, Mapping)
            else list(credentials)
        )
        return contract.account_from_wit(
            self._result("connect", lambda i: i.call("connect", brand, contract.credentials_to_wit(given)))
        )

    def disconnect(self, brand: BrandId) -> None:
        """Forgets the brand's credentials and assignments; codes on locks
        expire by themselves (R18). No vendor call."""
        self._result("disconnect", lambda i: i.call("disconnect", brand))

    def accounts(self) -> List[Account]:
        """The connected accounts, one per brand."""
        return [contract.account_from_wit(a) for a in self._result("accounts", lambda i: i.call("accounts"))]

    def list_locks(self, brand: BrandId) -> List[LockInfo]:
        """The brand's locks with how codes reach each (R3)."""
        return [contract.lock_from_wit(x) for x in self._result("list-locks", lambda i: i.call("list-locks", brand))]

    def assign(
        self,
        property_id: str,
        brand: BrandId,
        lock_id: str,
        days_before: Optional[int] = None,
        margin_minutes: Optional[int] = None,
        backup_codes: Optional[int] = None,
    ) -> Assignment:
        """Puts a lock on a property or changes its lock or settings; ``None``
        keeps a setting, or the default (5 days, 30 minutes, no backup codes)
        (R4, R5, R14, R17). ``backup_codes`` (0 to 5): spare codes kept on
        the lock for a guest whose own code cannot be set in time (R25)."""
        settings = contract.settings_to_wit(_s32(days_before), _s32(margin_minutes), _s32(backup_codes))
        value = self._result("assign", lambda i: i.call("assign", property_id, brand, lock_id, settings))
        return contract.assignment_from_wit(value)

    def unassign(self, property_id: str) -> None:
        """Removes the property's lock (R17)."""
        self._result("unassign", lambda i: i.call("unassign", property_id))

    def get_assignment(self, property_id: str) -> Optional[Assignment]:
        """The property's lock and settings, or ``None``."""
        value = self._result("get-assignment", lambda i: i.call("get-assignment", property_id))
        return None if value is None else contract.assignment_from_wit(value)

    def share_door(self, property_id: str, brand: BrandId, lock_id: str) -> SharedDoor:
        """Adds a shared door to the property (R26): a lock other properties
        may use too, of any connected brand; every booking of the property
        also gets a code on it. At most 4 per property; adding one it has
        changes nothing."""
        value = self._result("share-door", lambda i: i.call("share-door", property_id, brand, lock_id))
        return contract.shared_door_from_wit(value)

    def unshare_door(self, property_id: str, brand: BrandId, lock_id: str) -> None:
        """Removes a shared door: codes not started yet are deleted, a guest
        mid-stay keeps theirs until check-out (R17)."""
        self._result("unshare-door", lambda i: i.call("unshare-door", property_id, brand, lock_id))

    def shared_doors(self, property_id: str) -> List[SharedDoor]:
        """The property's shared doors, in the order they were added."""
        value = self._result("shared-doors", lambda i: i.call("shared-doors", property_id))
        return [contract.shared_door_from_wit(d) for d in value]

    def booking_status(self, booking_id: str) -> CodeStatus:
        """Where the booking's code is (state, PIN, window, last error, next
        attempt, fallback code) and its codes on shared doors (``doors``)."""
        return contract.status_from_wit(self._result("booking-status", lambda i: i.call("booking-status", booking_id)))

    def with_instance(self, f: Callable[[PluginInstance], T]) -> T:
        """Runs ``f`` with one fresh instance, under the same limits and turn
        as every call: several raw calls on one instance (benchmarks), or
        none (the cost of an instance)."""
        return self._call("with-instance", f)

    # ---- the machinery ----------------------------------------------------------

    def _result(self, export: str, f: Callable[[PluginInstance], Any]) -> Any:
        value = self._call(export, f)
        if isinstance(value, wc.Variant):
            raise PluginError.from_wit(value.tag, value.payload, tenant=self.tenant.id, export=export)
        return value

    def _call(self, export: str, f: Callable[[PluginInstance], T]) -> T:
        runtime = self.runtime
        tenant_id = self.tenant.id
        with self._turn.lock:
            if not runtime._slots.acquire(timeout=runtime.config.call_wall_limit):
                _host_log(logging.ERROR, tenant_id, "plugin call refused: every instance slot stayed busy", export=export)
                raise InstantiateError(
                    tenant_id, f"{export}: no free instance slot within {_duration(runtime.config.call_wall_limit)}"
                )
            try:
                return self._run(export, f)
            finally:
                runtime._slots.release()

    def _run(self, export: str, f: Callable[[PluginInstance], T]) -> T:
        runtime = self.runtime
        config = runtime.config
        tenant_id = self.tenant.id
        store = wasmtime.Store(runtime.engine)
        store.set_limits(
            memory_size=config.memory_limit,
            table_elements=config.table_elements,
            instances=64,
            tables=64,
            memories=4,
        )
        call = _Call(runtime, self.tenant, store, export, self.call_timeout)
        store.set_epoch_deadline(call.ticks_left())
        previous = getattr(_local, "call", None)
        _local.call = call
        ran = False
        try:
            instance = runtime.linker.instantiate(store, runtime.component)
            ran = True
            result = f(PluginInstance(runtime, store, instance))
        except Exception as e:
            if call.host_failure is None and not isinstance(e, wasmtime.WasmtimeError):
                raise  # neither a trap nor a failed import: e.g. a value of the wrong type
            if not ran and call.host_failure is None and "wasm trap" not in str(e):
                message = f"{export}: {_root_cause(e)}"
                _host_log(logging.ERROR, tenant_id, "plugin instantiation failed", export=export, error=message)
                raise InstantiateError(tenant_id, message) from e
            message = self._describe(export, e, call)
            ms = round((time.monotonic() - call.started) * 1000, 1)
            _host_log(logging.ERROR, tenant_id, "plugin call trapped", export=export, ms=ms, error=message)
            raise TrapError(tenant_id, message, host_failure=call.host_failure is not None) from e
        finally:
            _local.call = previous
        if _log.isEnabledFor(logging.DEBUG):
            ms = round((time.monotonic() - call.started) * 1000, 3)
            _host_log(logging.DEBUG, tenant_id, "plugin call", export=export, ms=ms)
        return result

    def _describe(self, export: str, error: BaseException, call: _Call) -> str:
        """One line: the export, what stopped it, and the guest's last error
        log line (its panic message) when it wrote one."""
        if call.host_failure is not None:
            name, failure = call.host_failure
            what = f"host import {name} failed: {failure}"
        else:
            cause = _root_cause(error)
            if cause == "interrupt":
                what = (
                    f"interrupted: exceeded the time limit ({_duration(call.guest_limit)} of plugin time, "
                    f"{_duration(call.wall_limit)} in all)"
                )
            elif "unreachable" in cause:
                what = "aborted (unreachable instruction: a panic or abort)"
            else:
                what = cause
        message = f"{export}: {what}"
        line = (call.last_error_log or "").strip()
        if line:
            message += " — " + _truncate(line, 1024)
        return message


def _s32(value: Optional[int]) -> Optional[int]:
    """An int the contract takes as ``s32`` (ctypes would wrap a larger one silently)."""
    if value is None:
        return None
    if not -(2**31) <= int(value) < 2**31:
        raise ValueError(f"{value} is outside the contract's s32 range")
    return int(value)
