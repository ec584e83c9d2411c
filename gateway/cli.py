"""``frailwatch gateway run`` (and ``frailwatch influx init`` from gateway.influx); heavy imports
stay inside the handlers so ``frailwatch --help`` stays light."""

from __future__ import annotations

import argparse
from pathlib import Path


def _run(args: argparse.Namespace) -> int:
    from gateway.main import run

    return run(args.config)


def _schema(_: argparse.Namespace) -> int:
    from gateway.influx_schema import markdown_table

    print(markdown_table())
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gateway = subparsers.add_parser("gateway", help="central gateway: MQTT → processing → InfluxDB")
    sub = gateway.add_subparsers(dest="gateway_command", required=True)
    run = sub.add_parser("run", help="run one replica (settings: --config TOML, FRAILWATCH_GATEWAY_*)")
    run.add_argument("--config", type=Path, default=None)
    run.set_defaults(handler=_run)
    schema = sub.add_parser("schema", help="print the InfluxDB schema as a Markdown table")
    schema.set_defaults(handler=_schema)
    try:
        from gateway.influx import cli as influx_cli
    except ModuleNotFoundError as exc:
        if exc.name != "gateway.influx.cli":
            raise
    else:
        influx_cli.register(subparsers)
