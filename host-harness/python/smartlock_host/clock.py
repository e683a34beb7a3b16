"""The ``clock`` import's backends: the plugin's only clock, in whole
seconds since the Unix epoch (the WIT ``instant``)."""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol


class Clock(Protocol):
    """A source of the current instant (seconds since 1970-01-01T00:00:00Z)."""

    def now(self) -> int: ...


class SystemClock:
    """The host's real wall clock."""

    def now(self) -> int:
        return math.floor(time.time())


class SimClock:
    """A simulated clock that moves only when told to (tests, replays)."""

    def __init__(self, now: int = 0) -> None:
        self._now = int(now)
        self._lock = threading.Lock()

    def now(self) -> int:
        with self._lock:
            return self._now

    def set(self, now: int) -> None:
        """Puts the clock at ``now`` (it may go backwards)."""
        with self._lock:
            self._now = int(now)

    def advance(self, seconds: int) -> int:
        """Moves the clock forward by ``seconds``; returns the new instant."""
        with self._lock:
            self._now += int(seconds)
            return self._now
