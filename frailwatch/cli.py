"""``frailwatch``: one command, a subcommand per role.

Each role folder may have a ``cli.py`` with ``register(subparsers)``; it must only declare
arguments and import its heavy modules inside the handler, so ``frailwatch edge`` on a station box
never imports Numba, InfluxDB or Grafana libraries. A handler returns the process exit code.
Convention for bad input: exit code 2 and one clear line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from frailwatch import __version__

OWN_PACKAGES = frozenset({"frailwatch", "telemetry", "edge", "gateway", "processing", "grafana"})
Handler = Callable[[argparse.Namespace], int]

# Role modules that contribute subcommands, in --help order.
ROLE_CLIS = (
    "processing.cli",
    "edge.cli",
    "gateway.cli",
    "grafana.cli",
    "frailwatch.cases_cli",
    "frailwatch.demo_cli",
)


def _version(_: argparse.Namespace) -> int:
    print(f"frailwatch {__version__}")
    return 0


def _schema_export(args: argparse.Namespace) -> int:
    from telemetry.wire_schema import export

    written = export(Path(args.directory))
    for path in written:
        print(path)
    print(f"wrote {len(written)} JSON schemas to {args.directory}", file=sys.stderr)
    return 0


def _register_core(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    version = subparsers.add_parser("version", help="print the FrailWatch version")
    version.set_defaults(handler=_version)

    schema = subparsers.add_parser("schema", help="the wire contract's JSON schemas")
    schema_sub = schema.add_subparsers(dest="schema_command", required=True)
    export = schema_sub.add_parser("export", help="write a JSON Schema per message type into DIR")
    export.add_argument("directory", metavar="DIR")
    export.set_defaults(handler=_schema_export)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="frailwatch",
        description="FrailWatch: telemetry for community frailty screening stations.",
    )
    parser.add_argument("--version", action="version", version=f"frailwatch {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _register_core(subparsers)
    for module_name in ROLE_CLIS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # A role whose CLI or optional dependencies are not on this box (the gateway's stack on
            # an edge image) is simply absent; a broken import inside our own code is not hidden.
            missing = exc.name or ""
            if missing == module_name or missing.split(".")[0] not in OWN_PACKAGES:
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
