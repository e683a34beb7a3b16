"""Helpers the test files share."""

from __future__ import annotations

import os


def in_ci() -> bool:
    """CI is set (non-empty, not 0/false): nothing may be skipped silently."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false")
