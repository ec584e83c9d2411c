"""Handler of `frailwatch simulate`."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edge.simulate.cohort import Cohort


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def cohort_from(args: argparse.Namespace, now: datetime | None = None) -> Cohort:
    """The cohort ``frailwatch simulate ARGS`` simulates; ``now`` (else ``--now``, else the system
    clock) is its present."""
    from edge.simulate.cohort import Cohort

    return Cohort(
        participants=args.participants,
        stations=args.stations.split(","),
        days=args.days,
        visit_every_days=args.visit_every,
        decline_fraction=args.decline_fraction,
        roam_fraction=args.roam_fraction,
        seed=args.seed,
        recordings=args.recordings,
        recording_fs_hz=args.recording_hz,
        now=now or args.now,
    )


def run(args: argparse.Namespace) -> int:
    from edge.simulate.publish import connect, key_from_env, run_simulation

    if args.recordings and not 10.0 <= args.recording_hz <= 1000.0:
        print(f"--recording-hz {args.recording_hz} is outside 10–1000 Hz", file=sys.stderr)
        return 2
    cohort = cohort_from(args)
    brokers = {}
    for spec in args.broker:
        station, _, address = spec.partition("=")
        brokers[station] = connect(*_host_port(address))
    central = connect(*_host_port(args.central), args.username, args.password) if args.central else None
    if central is not None and key_from_env() is None:
        print("--central needs FRAILWATCH_EDGE_PSEUDONYM_KEY", file=sys.stderr)
        return 2
    sent = run_simulation(
        cohort, brokers, central, key_from_env(), args.rate, args.speedup, args.malformed_share, args.truth
    )
    for client in [*brokers.values(), *([central] if central else [])]:
        client.disconnect()
        client.loop_stop()
    print(f"published {sent} messages", file=sys.stderr)
    return 0
