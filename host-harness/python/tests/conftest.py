"""Shared fixtures: the plugin component, the hostile fixture, the
``host-harness`` binary (from the environment the Rust test sets, else the
repository's build), and one loaded runtime per session."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from smartlock_host import Runtime, RuntimeConfig, paths
from support import in_ci


@pytest.fixture(scope="session")
def repo() -> Path:
    root = paths.repo_root()
    assert root is not None, "the tests run inside the repository (or with SMARTLOCK_REPO set)"
    return root


@pytest.fixture(scope="session")
def harness() -> Path:
    return paths.harness_binary()


@pytest.fixture(scope="session")
def plugin_path() -> Path:
    path = paths.plugin_component()
    assert path.is_file(), f"no plugin component at {path} (cargo build -p host-harness makes it)"
    return path


@pytest.fixture(scope="session")
def runtime(plugin_path: Path) -> Iterator[Runtime]:
    rt = Runtime(RuntimeConfig(plugin_path))
    yield rt
    rt.close()


@pytest.fixture(scope="session")
def hostile_path() -> Path:
    path = paths.hostile_fixture()
    if path is None or not path.is_file():
        message = f"no hostile fixture at {path} (cargo test -p smartlock-e2e --no-run builds it)"
        if in_ci():
            pytest.fail(f"CI must run the sandbox tests: {message}")
        pytest.skip(message)
    return path
