"""R21's bookkeeping, as smartlock-host's ``WakeUps``."""

from __future__ import annotations

from smartlock_host import WakeUps


def test_a_later_answer_replaces_the_earlier_and_due_is_in_time_order() -> None:
    w = WakeUps()
    w.set("a", 100)
    w.set("b", 50)
    w.set("c", 500)
    w.set("a", 40)
    assert w.next("a") == 40
    assert w.earliest() == (40, "a")
    assert w.due(100) == ["a", "b"]
    w.set("a", None)
    assert w.next("a") is None
    assert w.due(1000) == ["b", "c"]
    w.set("d", 50)
    assert w.due(50) == ["b", "d"], "ties by id"
