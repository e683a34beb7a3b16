"""Message-variable substitution (R20), as smartlock-host's ``template``:
``{{name}}``, spaces inside the braces allowed. Each variable is asked of
``resolve`` (one plugin call each); one it has no value for (``None``) is
left exactly as written, for the PMS's other plugins."""

from __future__ import annotations

import re
from typing import Callable, List, Optional

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def is_variable_name(name: str) -> bool:
    """1 to 64 ASCII letters, digits, ``_``, ``.`` and ``-``."""
    return _NAME.fullmatch(name) is not None


def substitute(template: str, resolve: Callable[[str], Optional[str]]) -> str:
    """Replaces every ``{{ name }}`` for which ``resolve(name)`` has a value;
    ``resolve`` is asked once per occurrence, in order."""
    out: List[str] = []
    rest = template
    while True:
        open_at = rest.find("{{")
        if open_at < 0:
            break
        out.append(rest[:open_at])
        after = rest[open_at + 2 :]
        close = after.find("}}")
        if close < 0:
            out.append(rest[open_at:])
            return "".join(out)
        inner = after[:close]
        name = inner.strip(" ")
        whole = rest[open_at : open_at + 2 + close + 2]
        value = resolve(name) if is_variable_name(name) else None
        if value is not None:
            out.append(value)
        elif "{{" in inner:
            # "{{ {{x}}": only the inner pair is a variable.
            out.append("{{")
            rest = after
            continue
        else:
            out.append(whole)
        rest = after[close + 2 :]
    out.append(rest)
    return "".join(out)


def variables(template: str) -> List[str]:
    """The variable names a template uses (each once, in order)."""
    names: List[str] = []

    def note(name: str) -> Optional[str]:
        if name not in names:
            names.append(name)
        return None

    substitute(template, note)
    return names
