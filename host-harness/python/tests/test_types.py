"""Type hints throughout: ``mypy --strict`` passes on the package and its tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def test_mypy_strict_passes() -> None:
    pytest.importorskip("mypy", reason="mypy is in the package's `test` extra")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "smartlock_host", "tests"], cwd=root, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
