"""The workarounds for wasmtime-py 50 (smartlock_host._compat): the byte
fast path agrees with wasmtime-py's own conversion, and another wasmtime-py
version is refused rather than patched blindly. (storage.get's error case is
proved through a component in test_sandbox.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from smartlock_host import Runtime, _compat


def test_the_byte_fast_path_agrees_with_wasmtime_py(runtime: Runtime) -> None:
    list_u8 = runtime._list_u8_type()
    assert list_u8 is not None
    assert _compat.verify_bytes_fast_path(list_u8), "the fast path was switched off"
    assert _compat.bytes_fast_path()


def test_another_wasmtime_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_compat, "installed_version", lambda: "51.0.0")
    with pytest.raises(RuntimeError, match="needs wasmtime 50.0.1"):
        _compat.install()


def test_the_pinned_version_is_the_one_pyproject_names() -> None:
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert f'"wasmtime=={_compat.WASMTIME_VERSION}"' in pyproject
    assert _compat.installed_version() == _compat.WASMTIME_VERSION
