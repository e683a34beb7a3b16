"""Helpers the test files share."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator

from smartlock_host.scenario import StubProcess


def in_ci() -> bool:
    """CI is set (non-empty, not 0/false): nothing may be skipped silently."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


@contextmanager
def stub_world(harness: Path, folder: Path, world: Dict[str, Any]) -> Iterator[StubProcess]:
    """A ``host-harness stub`` process serving ``world`` (a scenario's worlds
    and ``start``), stopped on exit; its config file goes in ``folder``."""
    config = folder / "world.json"
    config.write_text(json.dumps(world))
    with StubProcess(config, binary=harness, forward_stderr=False) as process:
        yield process
