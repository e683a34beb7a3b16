"""``python -m smartlock_host scenario``: the report alone on stdout, as
``host-harness scenario`` prints it (the same text up to the PINs), --report,
and one line with exit status 2 for a file that cannot be run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from smartlock_host import paths
from test_conformance import normalise

MINIMAL: Dict[str, Any] = {
    "name": "minimal",
    "start": "2026-01-01T00:00:00Z",
    "tick_minutes": 60,
    "igloohome": {"accounts": [{"client_id": "a", "client_secret": "b", "name": "Acct"}], "locks": [], "bridges": []},
    "steps": [
        {"at": "2026-01-01T00:00:00Z", "do": "connect", "client_id": "a", "client_secret": "b"},
        {"at": "2026-01-01T05:00:00Z", "do": "end"},
    ],
}


def cli(args: List[str], cwd: Path) -> "subprocess.CompletedProcess[str]":
    # Run from elsewhere: the repository (component, host-harness) is named.
    env = dict(os.environ, SMARTLOCK_LOG="error")
    root = paths.repo_root()
    if root is not None:
        env.setdefault("SMARTLOCK_REPO", str(root))
    return subprocess.run([sys.executable, "-m", "smartlock_host", *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_the_report_is_host_harness_scenarios_up_to_the_pins(repo: Path, harness: Path, tmp_path: Path) -> None:
    example = repo / "examples" / "seed-walkthrough.json"
    python = cli(["scenario", str(example)], tmp_path)
    assert python.returncode == 0, python.stderr
    rust = subprocess.run([str(harness), "scenario", str(example)], capture_output=True, text=True)
    assert rust.returncode == 0, rust.stderr
    mine, theirs = json.loads(python.stdout), json.loads(rust.stdout)
    assert python.stdout == json.dumps(mine, indent=2, ensure_ascii=False) + "\n", "serde_json's pretty form"
    assert list(mine) == ["scenario", "steps", "pins", "emails", "events", "http", "ticks"]
    assert normalise(mine) == normalise(theirs)
    # The whole text, once the PINs of both are masked.
    assert _mask(python.stdout, mine) == _mask(rust.stdout, theirs)


def _mask(text: str, report: Dict[str, Any]) -> str:
    for pin in {p["pin"] for p in report["pins"]}:
        text = text.replace(pin, "<PIN>")
    return text


def test_report_writes_the_file_and_nothing_to_stdout(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text(json.dumps(MINIMAL))
    done = cli(["scenario", "m.json", "--report", "out.json"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["steps"] == [{"at": "2026-01-01T00:00:00Z", "do": "connect", "ok": True, "result": {"account": "Acct"}}]
    assert report["ticks"] == {"count": 6, "failed": 0, "wake_ups": 0}


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("broken.json", '{"name": ', "error: broken.json: invalid scenario: "),
        ("no-end.json", dict(MINIMAL, steps=MINIMAL["steps"][:1]), "the last step must be `end`"),
        ("order.json", dict(MINIMAL, steps=MINIMAL["steps"][::-1]), "step 1: `end` must be the last step"),
        ("ticks.json", dict(MINIMAL, tick_minutes=0), "tick_minutes must be between 1 and 1440"),
        (
            "fault.json",
            dict(MINIMAL, steps=[{"at": MINIMAL["start"], "do": "fault", "endpoint": "nope", "status": 500, "count": 1}, MINIMAL["steps"][1]]),
            # The stub world's words, as the Rust and Node hosts print them.
            'fault.json: step 1: unknown endpoint "nope" (expected token, devices, jobs, job_status or algopin)',
        ),
        (
            "connect.json",
            dict(MINIMAL, steps=[{"at": MINIMAL["start"], "do": "connect", "client_id": "a"}, MINIMAL["steps"][1]]),
            "connect.json: step 1 (connect igloohome): `client_secret` is missing",
        ),
        ("world.json", dict(MINIMAL, igloohome={"accounts": "nope"}), "error: "),
        ("missing.json", None, "error: cannot read missing.json: "),
    ],
)
def test_a_file_that_cannot_be_run_is_one_line_and_exit_status_2(name: str, content: Any, expected: str, tmp_path: Path) -> None:
    if content is not None:
        (tmp_path / name).write_text(content if isinstance(content, str) else json.dumps(content))
    done = cli(["scenario", name], tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert expected in lines[0] and lines[0].startswith("error: "), lines[0]


#: Files of the Node host's ``test/scenarios/bad/`` refused for one step's
#: field (serde's words in the Rust host), the new steps' among them.
FIELD_REFUSALS = (
    "assign-without-lock.json",
    "booking-without-property.json",
    "days-before-fraction.json",
    "lock-null.json",
    "share-door-without-lock.json",
    "unshare-door-lock-a-number.json",
    "backup-codes-a-string.json",
)
#: Files refused for what the component's brands or the stub world say of
#: them (a step's provider, a connect's form, a fault step), or for the
#: steps' order: the same first error as the Rust host's, in its words.
CHECK_REFUSALS = (
    "unknown-provider.json",
    "provider-a-number.json",
    "connect-without-secret.json",
    "connect-without-token.json",
    "fault-unknown-endpoint.json",
    "fault-unknown-kind.json",
    "fault-brand-not-in-world.json",
    "end-not-last.json",
    "steps-out-of-order.json",
    "no-end.json",
)


@pytest.mark.parametrize("name", FIELD_REFUSALS + CHECK_REFUSALS)
def test_a_bad_step_is_refused_with_the_rust_hosts_line(name: str, repo: Path, harness: Path) -> None:
    folder = repo / "host-harness" / "node" / "test" / "scenarios" / "bad"
    rust = subprocess.run([str(harness), "scenario", name], cwd=folder, capture_output=True, text=True)
    python = cli(["scenario", name], folder)
    assert (rust.returncode, python.returncode) == (2, 2), rust.stderr + python.stderr
    assert python.stdout == ""
    assert python.stderr.strip() == rust.stderr.strip()
