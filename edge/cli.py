"""`frailwatch edge run|whois|health|staff|roster` and `frailwatch simulate`; heavy imports stay
inside handlers (the health, staff and roster commands need no MQTT or web libraries)."""

from __future__ import annotations

import argparse
from pathlib import Path


def _run(args: argparse.Namespace) -> int:
    import importlib.util
    import logging
    import signal
    import sys

    from edge.agent import EdgeAgent
    from edge.settings import load

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load(args.config)
    missing = [
        m for m in ("starlette", "jinja2", "uvicorn", "multipart") if importlib.util.find_spec(m) is None
    ]
    if settings.page_enabled and missing:
        print(
            f"frailwatch edge run: page_enabled needs the station extra ({', '.join(missing)} missing):"
            " pip install 'frailwatch[station]'",
            file=sys.stderr,
        )
        return 2
    agent = EdgeAgent(settings)
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


def _staff(args: argparse.Namespace) -> int:
    import getpass
    import sys

    from edge.page.accounts import AccountError, Accounts
    from edge.settings import load

    settings = load(args.config)
    accounts = Accounts(settings.spool_dir / "staff.sqlite3")
    try:
        if args.staff_command == "list":
            for username, display in accounts.usernames():
                print(f"{username}\t{display}")
            return 0
        if args.staff_command == "remove":
            if not accounts.remove(args.username):
                print(f"no staff account {args.username!r}", file=sys.stderr)
                return 1
            return 0
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass(f"password for {args.username}: ")
            if getpass.getpass("again: ") != password:
                print("the passwords differ", file=sys.stderr)
                return 2
        accounts.add(args.username, password, args.display_name or "", replace=args.reset)
        done = "reset" if args.reset else "added"
        print(f"staff account {args.username} {done} at station {settings.station_id}")
        return 0
    except AccountError as error:
        print(f"frailwatch edge staff: {error}", file=sys.stderr)
        return 2
    finally:
        accounts.close()


def _roster(args: argparse.Namespace) -> int:
    import csv
    import sys

    from edge.settings import load
    from edge.station_store import StationStore

    settings = load(args.config)
    try:
        with args.csv.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            fields = set(reader.fieldnames or ())
            if not {"member_id", "name"} <= fields:
                print("frailwatch edge roster: the CSV needs the columns member_id and name", file=sys.stderr)
                return 2
            rows = [(str(r["member_id"] or "").strip(), str(r["name"] or "")) for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        print(f"frailwatch edge roster: cannot read {args.csv}: {error}", file=sys.stderr)
        return 2
    store = StationStore(settings.spool_dir / "station.sqlite3")
    count = store.import_roster(rows, source=f"csv:{args.csv.name}")
    store.close()
    print(f"{count} names imported at station {settings.station_id} (they stay on this box)")
    return 0


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
    staff = edge_sub.add_parser("staff", help="station page accounts (hashed passwords, on this box)")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    add = staff_sub.add_parser("add", help="add a staff account (asks for the password)")
    add.add_argument("username")
    add.add_argument("--display-name", default=None)
    add.add_argument("--password-stdin", action="store_true", help="read the password from one stdin line")
    add.add_argument("--reset", action="store_true", help="set a new password for an existing account")
    remove = staff_sub.add_parser("remove", help="remove a staff account and end its sessions")
    remove.add_argument("username")
    staff_sub.add_parser("list", help="list staff accounts")
    for sub in (staff, add, remove):
        sub.add_argument("--config", type=Path, default=None)
    staff.set_defaults(handler=_staff)
    roster = edge_sub.add_parser("roster", help="participant names for the station page (local only)")
    roster_sub = roster.add_subparsers(dest="roster_command", required=True)
    imp = roster_sub.add_parser("import", help="import member_id,name from a UTF-8 CSV")
    imp.add_argument("csv", type=Path)
    imp.add_argument("--config", type=Path, default=None)
    roster.set_defaults(handler=_roster)
    sim = subparsers.add_parser("simulate", help="simulated cohort publishing as station devices")
    from edge.simulate.options import add_arguments

    add_arguments(sim)
    sim.set_defaults(handler=_simulate)
