"""``python -m smartlock_host``: the Python host's command line.

    python -m smartlock_host scenario FILE.json [--report OUT.json]
    python -m smartlock_host bench [--json] [--no-rust] [--no-node]

Global options: ``--component FILE.wasm`` (default ``$SMARTLOCK_PLUGIN_WASM``
or the repository build's), ``--cache-dir DIR`` (keep the compiled
component between runs).

``scenario`` prints the same report as ``host-harness scenario FILE.json``;
exit status 0 when the scenario ran, 2 with one line on stderr when the file
cannot be run, 1 on any other failure. Logs go to stderr
(``SMARTLOCK_LOG=debug`` for more; default ``info``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

from . import paths

if TYPE_CHECKING:
    from .runtime import RuntimeConfig


class _Formatter(logging.Formatter):
    """``2026-03-01T08:00:00.123Z  INFO smartlock_host: message tenant="acct-42"``"""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        tenant = getattr(record, "tenant", None)
        return text if tenant is None else f'{text} tenant="{tenant}"'


def setup_logging() -> None:
    """Logs to stderr at ``$SMARTLOCK_LOG`` (trace, debug, info, warn, error; default info)."""
    name = os.environ.get("SMARTLOCK_LOG", "info").lower()
    level = {"trace": 5, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING}.get(name, logging.ERROR)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter("%(asctime)s %(levelname)5s %(name)s: %(message)s"))
    root = logging.getLogger("smartlock_host")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smartlock_host", description="The smart-lock plugin's Python host.")
    parser.add_argument("--component", type=Path, help="the plugin component (default: the build's)")
    parser.add_argument("--cache-dir", type=Path, help="keep the compiled component here between runs")
    commands = parser.add_subparsers(dest="command", required=True)
    scenario = commands.add_parser("scenario", help="replay a scenario file and print its report")
    scenario.add_argument("file", type=Path)
    scenario.add_argument("--report", type=Path, help="write the report here instead of stdout")
    bench = commands.add_parser("bench", help="per-call costs beside the Rust and Node hosts, in one run")
    bench.add_argument("--json", action="store_true", help="one JSON object")
    bench.add_argument("--no-rust", action="store_true", help="skip `host-harness bench`")
    bench.add_argument("--no-node", action="store_true", help="skip the Node host's timing")
    args = parser.parse_args(argv)
    setup_logging()

    from .errors import StorageError
    from .runtime import RuntimeConfig  # noqa: F811 - the class itself, at run time
    from .scenario import InvalidScenario

    try:
        config = RuntimeConfig(args.component or paths.plugin_component(), cache_dir=args.cache_dir)
        if args.command == "scenario":
            return _scenario(args.file, args.report, config)
        from . import bench as bench_module

        return bench_module.main(config, as_json=args.json, rust=not args.no_rust, node=not args.no_node)
    except InvalidScenario as e:
        sys.stderr.write("error: " + str(e).replace("\n", " ") + "\n")
        return 2
    except (OSError, RuntimeError, ValueError, StorageError) as e:
        sys.stderr.write("error: " + str(e).replace("\n", " ") + "\n")
        return 1


def _scenario(file: Path, out: Optional[Path], config: RuntimeConfig) -> int:
    from .runtime import Runtime
    from .scenario import Scenario, report_text, run_scenario

    # The component first: a file's brand ids and connect fields are its (R30).
    runtime = Runtime(config)
    scenario = Scenario.load(file, str(file), list(runtime.brands()))
    text = report_text(run_scenario(scenario, runtime))
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
