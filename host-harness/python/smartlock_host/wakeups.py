"""The bookkeeping of wake-ups (R21), as smartlock-host's ``WakeUps``.

The plugin reports its next due instant through the ``scheduler.wake-at``
import at the end of every export that may change it; the runtime records
it here. A host loop asks :meth:`WakeUps.earliest` how long it may sleep and
:meth:`WakeUps.due` whom to tick, and keeps its regular 1-15 minute tick as
the backstop. In memory only: after a restart it is empty until each
tenant's next call.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from typing import Dict, List, Optional, Tuple


class WakeUps:
    """Every tenant's next wake-up (seconds), ordered by instant."""

    def __init__(self) -> None:
        self._by_tenant: Dict[str, int] = {}
        self._by_time: List[Tuple[int, str]] = []
        self._lock = threading.Lock()

    def set(self, tenant: str, at: Optional[int]) -> None:
        """Records the plugin's latest answer for ``tenant``; ``None`` clears it."""
        with self._lock:
            old = self._by_tenant.pop(tenant, None)
            if old is not None:
                i = bisect.bisect_left(self._by_time, (old, tenant))
                if i < len(self._by_time) and self._by_time[i] == (old, tenant):
                    self._by_time.pop(i)
            if at is not None:
                self._by_tenant[tenant] = int(at)
                bisect.insort(self._by_time, (int(at), tenant))

    def next(self, tenant: str) -> Optional[int]:
        """The tenant's next wake-up, or ``None``."""
        with self._lock:
            return self._by_tenant.get(tenant)

    def earliest(self) -> Optional[Tuple[int, str]]:
        """The earliest wake-up of any tenant and whose it is, or ``None``."""
        with self._lock:
            return self._by_time[0] if self._by_time else None

    def due(self, now: int) -> List[str]:
        """Ids of the tenants whose wake-up is at or before ``now``, earliest
        first (ties by id). Entries stay until the plugin replaces them."""
        with self._lock:
            return [tenant for at, tenant in itertools.takewhile(lambda e: e[0] <= now, self._by_time)]
