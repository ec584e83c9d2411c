"""`frailwatch edge run|whois|health` and `frailwatch simulate`; heavy imports stay inside handlers."""

from __future__ import annotations

import argparse
from pathlib import Path


def _run(args: argparse.Namespace) -> int:
    import logging
    import signal

    from edge.agent import EdgeAgent
    from edge.settings import load

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    agent = EdgeAgent(load(args.config))
    signal.signal(signal.SIGTERM, lambda *_: agent.stop())
    signal.signal(signal.SIGINT, lambda *_: agent.stop())
    agent.run()
    return 0


def _whois(args: argparse.Namespace) -> int:
    from edge.pseudonyms import PseudonymStore
    from edge.settings import load

    settings = load(args.config)
    store = PseudonymStore(settings.spool_dir / "pseudonyms.sqlite3")
    member = store.whois(args.pseudonym)
    store.close()
    if member is None:
        print(f"{args.pseudonym}: not seen at station {settings.station_id}")
        return 1
    print(member)
    return 0


def _health(args: argparse.Namespace) -> int:
    """Exit 0 when the agent is alive and taking in readings (edge.health), else 1; one line."""
    from edge.health import judge, status_path
    from edge.settings import load

    healthy, line = judge(status_path(load(args.config).spool_dir), args.max_age_s)
    print(line)
    return 0 if healthy else 1


def _simulate(args: argparse.Namespace) -> int:
    from edge.simulate.cli import run

    return run(args)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    edge = subparsers.add_parser("edge", help="station edge agent")
    edge_sub = edge.add_subparsers(dest="edge_command", required=True)
    run = edge_sub.add_parser("run", help="run the agent (settings: --config TOML, FRAILWATCH_EDGE_*)")
    run.add_argument("--config", type=Path, default=None)
    run.set_defaults(handler=_run)
    whois = edge_sub.add_parser("whois", help="resolve a pseudonym seen at this station to its member id")
    whois.add_argument("pseudonym")
    whois.add_argument("--config", type=Path, default=None)
    whois.set_defaults(handler=_whois)
    health = edge_sub.add_parser(
        "health", help="is the agent alive and taking in readings? (exit 0/1; container health check)"
    )
    health.add_argument("--config", type=Path, default=None)
    health.add_argument(
        "--max-age-s", type=float, default=30.0, help="the agent's status file may be this old (default 30)"
    )
    health.set_defaults(handler=_health)
    sim = subparsers.add_parser("simulate", help="simulated cohort publishing as station devices")
    from edge.simulate.options import add_arguments

    add_arguments(sim)
    sim.set_defaults(handler=_simulate)
