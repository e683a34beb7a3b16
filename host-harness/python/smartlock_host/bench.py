"""``python -m smartlock_host bench``: what a call costs in this host, beside
the Rust and Node hosts, measured in one run.

The Python side mirrors ``host-harness bench`` and the Node host's
``npm run timing``: one tenant on a SQLite file with 1,000 future bookings
on an assigned lock (made through the plugin against a ``host-harness stub``),
the clock at the same instant, medians of repeated calls:

- ``instantiate_us``: a fresh store and instance, no export called;
- ``tick_idle_us_1k``: ``on-tick`` with nothing due, a fresh instance per call;
- ``render_us_per_call``: ``render-variable``, a fresh instance per call;
- ``render_us_warm`` / ``booking_changed_us_warm``: repeated calls on one instance.

Then it runs ``host-harness bench --json`` (the release binary when
``cargo build --release -p host-harness`` made one, else the debug binary,
flagged) and the Node host's timing (when its packages are installed; its
``instances: 'per-call'`` figures, a fresh instance per call as here), and
prints each host's figures and the ratios Python ÷ Rust and Python ÷ Node.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from . import paths
from .clock import SimClock
from .contract import Booking, BookingEvent, Property
from .http import HttpClient
from .runtime import PluginInstance, Runtime, RuntimeConfig, Tenant
from .scenario import StubProcess, stub_routes
from .storage import SqliteDb

#: host-harness bench's "now": 2027-01-04T00:00:00Z.
NOW = 1_799_020_800
BOOKINGS = 1000
PROPERTY = Property(id="p1", name="Bench House", timezone="Europe/Paris")
#: The brand of the workload's stub world (one account, one lock behind a
#: bridge, as ``host-harness bench`` has).
BRAND = "igloohome"

Figures = Dict[str, Any]


def _median_us(samples: List[float]) -> float:
    return round(statistics.median(samples) * 1e6, 1)


def _time_calls(n: int, f: Callable[[int], object], warm_up: int = 50) -> float:
    for i in range(min(warm_up, n)):
        f(-1 - i)
    samples = []
    for i in range(n):
        started = time.perf_counter()
        f(i)
        samples.append(time.perf_counter() - started)
    return _median_us(samples)


def _booking(booking_id: str, day: int) -> BookingEvent:
    month, day_of_month = 3 + day // 28, 1 + day % 28
    check_in = f"2027-{month:02d}-{day_of_month:02d}"
    check_out = f"2027-{month:02d}-{day_of_month + 1:02d}"
    return BookingEvent(
        booking=Booking(id=booking_id, property_id="p1", guest_name="Ana", check_in=check_in, check_out=check_out),
        property=PROPERTY,
    )


def python_figures(config: RuntimeConfig, binary: Optional[Path] = None) -> Figures:
    """This host's figures (see the module's documentation)."""
    compiles = []
    runtime: Optional[Runtime] = None
    for _ in range(3):
        started = time.perf_counter()
        runtime = Runtime(config)
        compiles.append(time.perf_counter() - started)
    assert runtime is not None
    compiled = runtime.serialize()
    loads = []
    for _ in range(5):
        started = time.perf_counter()
        Runtime.from_precompiled(compiled, config).close()
        loads.append(time.perf_counter() - started)
    with tempfile.TemporaryDirectory(prefix="smartlock-py-bench-") as folder:
        world = {
            "start": datetime.fromtimestamp(NOW, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            BRAND: {
                "accounts": [{"client_id": "bench-id", "client_secret": "bench-secret", "name": "Bench"}],
                "locks": [{"id": "L1", "name": "Front door", "bridge": "B1"}],
                "bridges": [{"id": "B1", "name": "Hall bridge", "online": True}],
            },
        }
        (Path(folder) / "world.json").write_text(json.dumps(world))
        with StubProcess(Path(folder) / "world.json", binary=binary, forward_stderr=False) as stub:
            db = SqliteDb(Path(folder) / "bench.sqlite")
            tenant = Tenant(
                "bench",
                db.tenant("bench"),
                http=HttpClient(timeout=2.0),
                clock=SimClock(NOW),
                routes=stub_routes(list(runtime.brands()), stub.base),
            )
            t = runtime.tenant(tenant)
            t.connect(BRAND, {"client_id": "bench-id", "client_secret": "bench-secret"})
            t.on_property_changed(PROPERTY)
            t.assign("p1", BRAND, "L1", 5, 30)
            for i in range(BOOKINGS):
                t.on_booking_changed(_booking(f"bk-{i:06d}", i % 250))
            # New bookings are looked at once on the next tick(s); then nothing is due.
            for _ in range(50):
                if t.on_tick(NOW).processed == 0:
                    break
            else:
                raise RuntimeError("the tick never became idle")

            figures: Figures = {
                "component_bytes": runtime.component_size,
                "compile_ms": round(statistics.median(compiles) * 1000, 1),
                "load_cached_ms": round(statistics.median(loads) * 1000, 2),
                "instantiate_us": _time_calls(400, lambda i: t.with_instance(lambda _: None)),
                "tick_idle_us_1k": _time_calls(400, lambda i: t.on_tick(NOW)),
                "render_us_per_call": _time_calls(1000, lambda i: t.render_variable("smartlock_code", "bk-000001")),
            }

            def warm(instance: PluginInstance) -> None:
                figures["render_us_warm"] = _time_calls(
                    2000, lambda i: instance.call("render-variable", "smartlock_code", "bk-000001")
                )
                from .contract import booking_event_to_wit

                figures["booking_changed_us_warm"] = _time_calls(
                    300, lambda i: instance.call("on-booking-changed", booking_event_to_wit(_booking(f"warm-{i}", 6)))
                )

            t.with_instance(warm)
            db.close()
    runtime.close()
    return figures


def rust_figures(binary: Optional[Path] = None) -> Figures:
    """``host-harness bench --json``'s per-call figures (release build if there is one)."""
    release = Path(os.environ.get("SMARTLOCK_HOST_HARNESS_RELEASE", ""))
    root = paths.repo_root()
    if not release.is_file() and root is not None:
        release = root / "target" / "release" / "host-harness"
    chosen = release if release.is_file() else (binary or paths.harness_binary())
    done = subprocess.run([str(chosen), "bench", "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": f"{chosen} bench failed (exit {done.returncode})"}
    all_figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "build": "release" if chosen == release else "debug (host code unoptimised)",
        "instantiate_us": all_figures["instantiate_us"],
        "tick_idle_us_1k": all_figures["tick_idle_us_1k"],
        "render_us_per_call": round(all_figures["instantiate_us"] + all_figures["render_us"], 1),
        "render_us_warm": all_figures["render_us"],
        "booking_changed_us_warm": all_figures["booking_changed_us"],
    }


def node_figures(binary: Optional[Path] = None) -> Optional[Figures]:
    """The Node host's ``npm run timing`` figures, or ``None`` when it cannot run here."""
    root = paths.repo_root()
    npm = shutil.which("npm")
    if root is None or npm is None or not (root / "host-harness" / "node" / "node_modules").is_dir():
        return None
    env = dict(os.environ)
    if binary is not None:
        env["SMARTLOCK_HOST_HARNESS"] = str(binary)
    done = subprocess.run(
        [npm, "run", "--silent", "timing", "--", "--json", "--no-rust"],
        cwd=root / "host-harness" / "node",
        capture_output=True,
        text=True,
        env=env,
    )
    if done.returncode != 0:
        return {"error": f"npm run timing failed (exit {done.returncode})"}
    node: Figures = json.loads(done.stdout.strip().splitlines()[-1])["node"]
    if "per_call_tick_idle_us_1k" not in node:
        return node
    # The Node host keeps each tenant's instance in its worker by default;
    # `instances: 'per-call'` (its `per_call_*` figures) makes a fresh one
    # for every call, as this host and smartlock-host do: those are compared.
    return {
        "instantiate_us": node.get("instantiate_us"),
        "tick_idle_us_1k": node["per_call_tick_idle_us_1k"],
        "render_us_per_call": node.get("per_call_render_us"),
        "render_us_warm": node.get("render_us_warm"),
        "booking_changed_us_warm": node.get("booking_changed_us_warm"),
        "kept_instance_tick_idle_us_1k": node.get("tick_idle_us_1k"),
        "kept_instance_render_us_per_call": node.get("render_us_per_call"),
    }


PER_CALL = ("instantiate_us", "tick_idle_us_1k", "render_us_per_call", "render_us_warm", "booking_changed_us_warm")


def ratios(python: Figures, other: Optional[Figures]) -> Dict[str, Optional[float]]:
    """Python ÷ the other host, per per-call figure."""
    out: Dict[str, Optional[float]] = {}
    for key in PER_CALL:
        a, b = python.get(key), (other or {}).get(key)
        out[key] = round(a / b, 2) if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None
    return out


def main(config: RuntimeConfig, as_json: bool = False, rust: bool = True, node: bool = True) -> int:
    binary = paths.harness_binary()
    started = time.monotonic()
    py = python_figures(config, binary)
    rs = rust_figures(binary) if rust else None
    nd = node_figures(binary) if node else None
    result: Dict[str, Any] = {
        "python": py,
        "rust": rs,
        "node": nd,
        "python_over_rust": ratios(py, rs) if rs else None,
        "python_over_node": ratios(py, nd) if nd else None,
        "took_s": round(time.monotonic() - started, 1),
    }
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return 0
    keys = list(dict.fromkeys([*py.keys(), *(rs or {}).keys(), *(nd or {}).keys()]))
    width = max(len(k) for k in keys)
    sys.stdout.write(f"{'figure':<{width}} {'python':>10} {'rust':>10} {'node':>10} {'py/rust':>8} {'py/node':>8}\n")
    pr = result["python_over_rust"] or {}
    pn = result["python_over_node"] or {}
    for key in keys:
        cells = [py.get(key, ""), (rs or {}).get(key, ""), (nd or {}).get(key, ""), pr.get(key) or "", pn.get(key) or ""]
        line = " ".join(f"{str(c):>10}" if i < 3 else f"{str(c):>8}" for i, c in enumerate(cells))
        sys.stdout.write(f"{key:<{width}} {line}\n")
    sys.stdout.write(f"took {result['took_s']} s\n")
    return 0
