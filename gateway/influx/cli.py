"""``frailwatch influx init``: create the database and retention policies (idempotent).

The policies are gateway.influx_schema's RETENTION_POLICIES: ``forever`` (INF, the default: clinical
data), ``ops`` (bounded, 90d unless --ops-retention or FRAILWATCH_GATEWAY_INFLUX_OPS_RETENTION says
otherwise: heartbeats, station devices and status, gateway stats) and a short
``raw`` policy for raw signals (--raw-retention).

Settings come from the options, else from ``FRAILWATCH_GATEWAY_INFLUX_*`` (URL, DATABASE, USERNAME,
PASSWORD, TOKEN, ...). Secrets are read only from the environment, never from the command line
(where ``ps`` would show them). ``gateway/cli.py`` calls :func:`register`; ``python -m
gateway.influx.cli init ...`` works on its own too. Exit codes: 0 done, 1 InfluxDB unreachable or
refused, 2 bad options.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

#: The ops policy's duration when --ops-retention is not given (else the schema's 90d).
OPS_RETENTION_VARIABLE = "FRAILWATCH_GATEWAY_INFLUX_OPS_RETENTION"


def _init(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from gateway.influx.init import init_database, parse_duration
    from gateway.influx.transport import InfluxError, InfluxSettings, V1Transport, make_transport

    ops_retention = args.ops_retention or os.environ.get(OPS_RETENTION_VARIABLE) or None
    try:
        settings = InfluxSettings.from_env(url=args.url, database=args.database, username=args.username)
        if args.raw_retention is not None:
            parse_duration(args.raw_retention)
        if ops_retention is not None and parse_duration(ops_retention) == 0:
            raise ValueError("the ops retention policy must be bounded (e.g. 90d), not INF")
        parse_duration(args.downsample_every)
    except (ValidationError, ValueError) as exc:
        print(f"frailwatch influx init: bad settings: {_one_line(exc)}", file=sys.stderr)
        return 2
    if settings.version != 1:
        print(
            "frailwatch influx init: InfluxDB 2.x/3.x manage buckets outside InfluxQL; create the bucket "
            "(2.x: and a DBRP mapping) with the influx CLI",
            file=sys.stderr,
        )
        return 2
    transport = make_transport(settings)
    assert isinstance(transport, V1Transport)
    try:
        report = init_database(
            transport,
            raw_retention=args.raw_retention,
            ops_retention=ops_retention,
            downsample=tuple(args.downsample),
            downsample_every=args.downsample_every,
        )
    except ValueError as exc:
        print(f"frailwatch influx init: {_one_line(exc)}", file=sys.stderr)
        return 2
    except InfluxError as exc:
        print(f"frailwatch influx init: {_one_line(exc)}", file=sys.stderr)
        return 1
    finally:
        transport.close()
    for action in report.actions:
        print(action)
    return 0


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:500]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    influx = subparsers.add_parser("influx", help="InfluxDB administration")
    influx_sub = influx.add_subparsers(dest="influx_command", required=True)
    init = influx_sub.add_parser(
        "init",
        help="create the database and retention policies (forever: default, INF; ops: 90d; raw: short)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    init.add_argument("--url", default=None, help="InfluxDB URL (env FRAILWATCH_GATEWAY_INFLUX_URL)")
    init.add_argument("--database", default=None, help="database (env FRAILWATCH_GATEWAY_INFLUX_DATABASE)")
    init.add_argument("--username", default=None, help="user; password only from the environment")
    init.add_argument(
        "--raw-retention",
        "--retention",
        default=None,
        help="duration of the 'raw' retention policy (InfluxQL duration; default: the schema's, else 30d)",
    )
    init.add_argument(
        "--ops-retention",
        default=None,
        help="duration of the 'ops' retention policy (operational measurements; env "
        f"{OPS_RETENTION_VARIABLE}; default: the schema's 90d; INF is refused)",
    )
    init.add_argument(
        "--downsample",
        action="append",
        default=[],
        metavar="MEASUREMENT",
        help="add a continuous query averaging raw.MEASUREMENT into <default RP>.MEASUREMENT_<every>",
    )
    init.add_argument("--downsample-every", default="1m", help="continuous query interval (default 1m)")
    init.set_defaults(handler=_init)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.influx.cli")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["influx", *(sys.argv[1:] if argv is None else argv)])
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
