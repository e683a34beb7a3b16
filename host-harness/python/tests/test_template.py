"""R20: ``{{variable}}`` substitution, as smartlock-host's ``template``."""

from __future__ import annotations

from typing import Optional

from smartlock_host import substitute
from smartlock_host.template import variables


def code(name: str) -> Optional[str]:
    return "482913" if name in ("smartlock_code", "nuki_code") else None


def test_r20_substitutes_both_names_with_spaces_in_braces() -> None:
    assert substitute("Code {{smartlock_code}}.", code) == "Code 482913."
    assert substitute("Code {{ smartlock_code }} / {{nuki_code}}", code) == "Code 482913 / 482913"
    assert substitute("{{  nuki_code  }}", code) == "482913"


def test_r20_unknown_variables_are_left_untouched() -> None:
    assert substitute("Hi {{guest_name}}, {{ smartlock_code }}", code) == "Hi {{guest_name}}, 482913"
    assert substitute("{{ not a var }} {{", code) == "{{ not a var }} {{"
    assert substitute("{{}} }} {{smartlock_code", code) == "{{}} }} {{smartlock_code"
    assert substitute("{{ {{smartlock_code}}", code) == "{{ 482913"


def test_r20_no_value_leaves_the_variable() -> None:
    assert substitute("Code {{smartlock_code}}", lambda _: None) == "Code {{smartlock_code}}"


def test_lists_variables_once() -> None:
    assert variables("{{a}} {{ b }} {{a}} {{c d}}") == ["a", "b"]
