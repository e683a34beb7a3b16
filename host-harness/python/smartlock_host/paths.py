"""Where the repository's build puts the component and the ``host-harness``
binary, for the command line, the tests and the benchmark (an embedding PMS
passes its own component path to :class:`~smartlock_host.RuntimeConfig`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterable, Optional

#: The component the repository's build makes, relative to its root.
PLUGIN_WASM = Path("target/wasm/wasm32-unknown-unknown/wasm-release/smartlock_plugin.component.wasm")
#: The command that builds the component and the ``host-harness`` binary.
BUILD_COMMAND = "cargo build -p host-harness"
#: The hostile fixture component (`cargo test -p smartlock-e2e --no-run` builds it).
HOSTILE_WASM = Path("target/wasm/wasm32-unknown-unknown/wasm-release/smartlock_hostile_fixture.component.wasm")


def _candidates() -> Iterable[Path]:
    yield Path.cwd()
    yield Path(__file__).resolve().parent


def repo_root() -> Optional[Path]:
    """The repository checkout this runs in (``$SMARTLOCK_REPO``, else the
    first folder above the working directory or this package holding
    ``wit/world.wit`` and ``Cargo.toml``), or ``None``."""
    env = os.environ.get("SMARTLOCK_REPO")
    if env:
        return Path(env)
    for start in _candidates():
        for folder in (start, *start.parents):
            if (folder / "wit" / "world.wit").is_file() and (folder / "Cargo.toml").is_file():
                return folder
    return None


def plugin_component() -> Path:
    """The plugin component: ``$SMARTLOCK_PLUGIN_WASM``, else the build's."""
    env = os.environ.get("SMARTLOCK_PLUGIN_WASM")
    if env:
        return Path(env)
    root = repo_root()
    if root is None:
        raise FileNotFoundError(
            "no plugin component: set SMARTLOCK_PLUGIN_WASM or pass --component (or run inside the repository)"
        )
    return root / PLUGIN_WASM


def hostile_fixture() -> Optional[Path]:
    """The hostile fixture component, ``$HOSTILE_FIXTURE_WASM`` or the build's, if it exists."""
    env = os.environ.get("HOSTILE_FIXTURE_WASM")
    if env:
        return Path(env)
    root = repo_root()
    return None if root is None else root / HOSTILE_WASM


def harness_binary(build: bool = True) -> Path:
    """The ``host-harness`` binary (``$SMARTLOCK_HOST_HARNESS``, else
    ``target/debug/host-harness``), built with cargo when it is missing."""
    env = os.environ.get("SMARTLOCK_HOST_HARNESS")
    if env:
        return Path(env)
    root = repo_root()
    if root is None:
        raise FileNotFoundError("no host-harness binary: set SMARTLOCK_HOST_HARNESS (or run inside the repository)")
    path = root / "target" / "debug" / "host-harness"
    if not path.exists() and build:
        sys.stderr.write(f"smartlock_host: {BUILD_COMMAND}\n")
        done = subprocess.run(BUILD_COMMAND.split(), cwd=root, stdout=sys.stderr)
        if done.returncode != 0:
            raise RuntimeError(f"{BUILD_COMMAND} failed (exit {done.returncode})")
    if not path.exists():
        raise FileNotFoundError(f"no host-harness binary at {path}")
    return path
