"""Arguments of `frailwatch simulate` (kept import-light for the CLI)."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path


def present(text: str) -> datetime:
    """``--now``: an ISO 8601 time with its zone (a bare date or time would be ambiguous)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"--now needs a time zone, e.g. {text}+09:00 or {text}Z")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--participants", type=int, default=20)
    parser.add_argument("--stations", default="gj-01,gj-02", help="comma-separated station ids")
    parser.add_argument(
        "--days", type=int, default=90, help="days of visits, ending the day before --now (default 90)"
    )
    parser.add_argument(
        "--now",
        type=present,
        default=None,
        metavar="ISO-TIME",
        help="the simulator's present (ISO 8601 with zone; default: the system clock): visits fall on "
        "the --days days before it and ages are counted in its year",
    )
    parser.add_argument("--visit-every", type=int, default=30, help="days between a participant's visits")
    parser.add_argument("--decline-fraction", type=float, default=0.2)
    parser.add_argument("--roam-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--broker",
        action="append",
        default=[],
        metavar="STATION=HOST:PORT",
        help="publish that station's device readings to its station broker (raw ids, as devices do)",
    )
    parser.add_argument(
        "--central",
        metavar="HOST:PORT",
        help="publish pseudonymised contract messages straight to the "
        "central broker, as edges would (load tests; key from FRAILWATCH_EDGE_PSEUDONYM_KEY)",
    )
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--rate", type=float, default=0.0, help="messages per second (0: as fast as acked)")
    parser.add_argument(
        "--speedup", type=float, default=0.0, help="simulated seconds per real second (0: no pacing)"
    )
    parser.add_argument(
        "--malformed-share", type=float, default=0.0, help="share of deliberately broken messages"
    )
    parser.add_argument("--truth", type=Path, help="write ground truth as JSON lines")
    parser.add_argument(
        "--recordings",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="raw IMU / centre-of-pressure recordings with gait, balance, sit-to-stand and TUG "
        "(~100 kB each at 100 Hz); --no-recordings sends the scalar readings only (load tests)",
    )
    parser.add_argument("--recording-hz", type=float, default=100.0, help="sampling rate of the recordings")
