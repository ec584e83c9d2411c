"""``frailwatch demo``: the whole platform on this machine, in a couple of minutes, offline.

Only argument declarations live here; the demo (which needs the gateway's and the demo's extras)
is imported inside the handler so ``frailwatch --help`` stays light on a station box.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run the platform locally: stations, edge agents, gateway, InfluxDB; print a summary",
        description=(
            "Start a private Mosquitto and InfluxDB on free loopback ports, the gateway and N simulated "
            "stations with edge agents; simulate D days of visits for M participants, interrupt the "
            "uplink once, then print a summary and write DIR/summary.json and trend charts."
        ),
    )
    demo.add_argument("--stations", type=_positive, default=3, metavar="N", help="stations (default 3)")
    demo.add_argument(
        "--participants", type=_positive, default=20, metavar="M", help="participants (default 20)"
    )
    demo.add_argument(
        "--days", type=_positive, default=360, metavar="D", help="days of monthly visits (default 360)"
    )
    demo.add_argument(
        "--decline-fraction",
        type=_share,
        default=0.4,
        metavar="F",
        help="share of participants who decline (default 0.4)",
    )
    demo.add_argument("--out", type=Path, default=Path("demo-out"), metavar="DIR", help="output (demo-out)")
    demo.add_argument("--seed", type=int, default=7, help="simulation seed (default 7)")
    demo.add_argument(
        "--state-dir", type=Path, default=None, metavar="DIR", help="servers' state (default: a temp dir)"
    )
    demo.add_argument("--no-outage", action="store_true", help="skip the deliberate uplink interruption")
    demo.add_argument("--no-progress", action="store_true", help="plain log lines instead of a progress bar")
    demo.add_argument(
        "--keep-running", action="store_true", help="leave the services up and print how to query them"
    )
    demo.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        from demo.run import DemoError, DemoOptions, run_demo
    except ModuleNotFoundError as exc:
        print(
            f"frailwatch demo: missing dependency {exc.name}; install the extras: uv sync --all-extras",
            file=sys.stderr,
        )
        return 2
    options = DemoOptions(
        stations=args.stations,
        participants=args.participants,
        days=args.days,
        decline_fraction=args.decline_fraction,
        out=args.out,
        seed=args.seed,
        state_dir=args.state_dir,
        outage=not args.no_outage,
        progress=not args.no_progress,
        keep_running=args.keep_running,
    )
    try:
        run_demo(options)
    except DemoError as exc:
        print(f"frailwatch demo: {exc}", file=sys.stderr)
        return 1
    return 0
