"""R22: the Python host passes the same scenario files with the same
lock-side outcome as the Rust host. Every file of the repository's examples/
(and this package's tests/scenarios/: every refusal's sentence, a restart,
an alert; and the Node host's test/scenarios/, when present) runs through
``host-harness scenario`` and through this package's runner; the reports
must agree, as the Node host's conformance test compares them:

- pins: every field but the PIN's digits (each PIN reads <PIN> wherever it
  appears: whether a moved code keeps its PIN can depend on the random
  digits, e.g. a TTLock PIN with a 0 is not a valid Nuki PIN);
- emails: at, subject and body (PINs likewise);
- events: the code events recorded, in order, every field (R27);
- steps: at, do, ok, the error sentence, the result (PINs likewise; trap
  messages only up to "plugin trapped");
- http (requests by endpoint) and ticks (count, failed, wake-ups);
- and then the whole document, key order included.

Files with the same content run once.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest

from smartlock_host import Runtime, paths
from smartlock_host.scenario import Scenario, run_scenario


def scenario_files() -> List[Path]:
    """The scenario files, from the repository alone (a clone is enough)."""
    root = paths.repo_root()
    assert root is not None
    folders = [
        (root / "examples", True),
        (root / "host-harness" / "node" / "test" / "scenarios", False),
        (Path(__file__).parent / "scenarios", True),
    ]
    seen = set()
    files: List[Path] = []
    for folder, required in folders:
        if not folder.is_dir():
            if required:
                raise AssertionError(f"the scenario folder {folder} is missing: the conformance tests need it")
            continue
        for path in sorted(folder.glob("*.json")):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                files.append(path)
    return files


def _pins_of(report: Dict[str, Any]) -> List[str]:
    pins: List[str] = []

    def add(p: Any) -> None:
        if isinstance(p, str) and re.fullmatch(r"\d{4,10}", p) and p not in pins:
            pins.append(p)

    for step in report["steps"]:
        add((step.get("result") or {}).get("pin") if isinstance(step.get("result"), dict) else None)
    for p in report["pins"]:
        add(p.get("pin"))
    for step in report["steps"]:
        result = step.get("result")
        if isinstance(result, dict):
            for m in re.findall(r"\b\d{6}\b", str(result.get("output", ""))):
                add(m)
    return pins


def normalise(report: Dict[str, Any]) -> Dict[str, Any]:
    """The report with PIN digits masked and host-specific details dropped."""
    pins = _pins_of(report)

    def text(s: str) -> str:
        for pin in pins:
            s = re.sub(rf"\b{pin}\b", "<PIN>", s)
        return re.sub(r"^plugin trapped \(tenant [^)]*\): .*", "plugin trapped", s, flags=re.S)

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return text(v)
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v

    r = walk(report)
    return {
        "scenario": r["scenario"],
        "steps": r["steps"],
        "pins": r["pins"],
        "emails": [{"at": e["at"], "to": e["to"], "subject": e["subject"], "body": e["body"]} for e in r["emails"]],
        "events": r["events"],
        "http": r["http"],
        "ticks": r["ticks"],
    }


def compare(rust: Dict[str, Any], python: Dict[str, Any]) -> None:
    r, p = normalise(rust), normalise(python)
    assert r["pins"] or r["steps"], "the scenario did something"
    assert p["pins"] == r["pins"], "pins (the locks' truth)"
    assert p["emails"] == r["emails"], "e-mails"
    assert p["events"] == r["events"], "code events"
    assert len(p["steps"]) == len(r["steps"]), "step count"
    for i, (ps, rs) in enumerate(zip(p["steps"], r["steps"])):
        assert ps == rs, f"step {i + 1} ({rs['do']} at {rs['at']})"
    assert p["http"] == r["http"], "vendor requests"
    assert p["ticks"] == r["ticks"], "ticks"
    # The same document, key order included, up to the PINs.
    assert json.dumps(p) == json.dumps(r)


@pytest.mark.parametrize("path", scenario_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_r22_the_python_host_gives_the_rust_hosts_lock_side_outcome(path: Path, runtime: Runtime, harness: Path) -> None:
    rust = subprocess.Popen([str(harness), "scenario", str(path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        python = run_scenario(Scenario.load(path), runtime, binary=harness, forward_stub_stderr=False)
    finally:
        out, _ = rust.communicate(timeout=600)
    assert rust.returncode == 0, f"host-harness scenario {path} exited {rust.returncode}"
    compare(json.loads(out), python)
