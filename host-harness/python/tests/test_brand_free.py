"""The host's source names no brand: what a brand is comes from the
component, and where the stub world serves it from the world. The only
words allowed are public interfaces that happen to spell one: the scenario
file format's ``bridge`` step and ``errcode`` fault field
(docs/scenarios.md), and the legacy message variable ``nuki_code``; and
the benchmark's workload, one brand's stub world (the Node host keeps its
benchmark outside its ``src/``: node/bench/timing.js)."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "smartlock_host"
BRAND_WORD = re.compile(r"[a-z_]*(?:igloohome|nuki|ttlock|seam|bridge|keypad|gateway|errcode)[a-z_]*", re.IGNORECASE)
ALLOWED = {
    "scenario.py": {"bridge", "errcode"},
    "runtime.py": {"nuki_code"},
    "bench.py": {"igloohome", "bridge", "bridges"},
}


def test_no_brand_is_named_in_the_package_beyond_the_scenario_format_and_the_legacy_message_variable() -> None:
    found = []
    for file in sorted(SRC.iterdir()):
        if not file.is_file():
            continue
        for i, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            for word in BRAND_WORD.findall(line):
                if word.lower() not in ALLOWED.get(file.name, set()):
                    found.append(f"{file.name}:{i}: {word}")
    assert found == []
