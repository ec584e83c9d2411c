"""``frailwatch cases``: replay visits through the detector, and list, show, acknowledge and resolve cases.

- ``replay --input VISITS.jsonl [--json] [--close-suggestions]``: one visit per line (participant,
  station_id, visit_id, at with its time zone, sex, measures; lines in any order) through
  :func:`processing.cases.assess`, the gateway's detector; ``--json`` prints one case event per
  line (at least case_id, participant, domain, event, at, severity; the full
  :class:`telemetry.cases.CaseEvent`). Close suggestions are printed only with
  ``--close-suggestions``. A bad line: exit 2 and one stderr line naming it.
- ``list [--participant P] [--state S] [--domain D] [--json]`` and ``show CASE_ID [--json]`` read
  the ``case_event`` log from InfluxDB and fold it.
- ``ack CASE_ID --staff ID [--note TEXT]`` and ``resolve CASE_ID --staff ID --reason R [--note TEXT]``
  validate the step against the folded case (:mod:`processing.cases.fold`) and append one event.
  Notes and staff ids are checked for identifiers like every free text.

InfluxDB settings come from ``FRAILWATCH_GATEWAY_INFLUX_*`` (as for the gateway) or ``--url`` /
``--database``. Exit codes: 0 done, 1 InfluxDB unreachable, 2 bad input or a refused transition.
Heavy modules are imported inside the handlers: ``frailwatch --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from processing.cases import Case
    from telemetry.cases import CaseEvent


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


# --- replay --------------------------------------------------------------------------------------


def _replay(args: argparse.Namespace) -> int:
    from processing.cases.replay import VisitLineError, parse_visits, replay

    path = Path(args.input)
    try:
        with path.open(encoding="utf-8") as handle:
            visits = parse_visits(handle)
    except OSError as exc:
        return _fail(f"cannot read {path}: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        return _fail(f"{path}: not UTF-8 text ({exc.reason})")
    except VisitLineError as exc:
        return _fail(f"{path}: line {exc.line}: {exc.detail}")
    events = replay(visits, close_suggestions=args.close_suggestions)
    if args.json:
        for event in events:
            print(event.model_dump_json(exclude_none=True))
        return 0
    _print_events(events)
    print(
        f"{len(visits)} visits, {sum(e.event.value == 'opened' for e in events)} cases opened",
        file=sys.stderr,
    )
    return 0


def _print_events(events: list[CaseEvent]) -> None:
    print(f"{'at (UTC)':20} {'participant':12} {'domain':16} {'event':15} {'severity':8} {'case':25} rule")
    for e in events:
        rule = e.evidence.rule if e.evidence else (e.reason.value if e.reason else "")
        print(
            f"{e.at:%Y-%m-%d %H:%M}     {e.participant[:10]:12} {e.domain.value:16} {e.event.value:15} "
            f"{e.severity:8} {e.case_id:25} {rule}"
        )


# --- InfluxDB ------------------------------------------------------------------------------------


def _transport(args: argparse.Namespace) -> Any:
    from gateway.influx.transport import InfluxSettings, make_transport

    settings = InfluxSettings.from_env(url=args.url, database=args.database)
    return make_transport(settings)


def _with_store(args: argparse.Namespace, action: Any) -> int:
    from pydantic import ValidationError

    from gateway.influx.transport import InfluxError, InfluxUnavailable
    from processing.cases import CaseTransitionError

    try:
        transport = _transport(args)
    except (ValidationError, ValueError) as exc:
        return _fail(f"bad InfluxDB settings: {str(exc).splitlines()[0]}")
    try:
        return int(action(transport))
    except CaseTransitionError as exc:
        return _fail(exc.detail)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return _fail(f"{where}: {first['msg']}" if where else str(first["msg"]))
    except InfluxUnavailable as exc:
        print(f"error: InfluxDB unavailable: {exc}", file=sys.stderr)
        return 1
    except InfluxError as exc:
        print(f"error: InfluxDB: {exc}", file=sys.stderr)
        return 1
    finally:
        transport.close()


def _cases(transport: Any, **where: Any) -> dict[str, Case]:
    from gateway.influx.case_log import read
    from processing.cases import fold

    return fold(read(transport, **where))


def _age(case: Case, now: datetime) -> str:
    if case.opened_at is None:
        return "?"
    days = (now - case.opened_at).days
    return f"{days} d" if days else f"{int((now - case.opened_at).total_seconds() // 3600)} h"


def _list(args: argparse.Namespace) -> int:
    def action(transport: Any) -> int:
        cases = _cases(transport, participant=args.participant).values()
        chosen = [
            c
            for c in cases
            if (args.state is None or c.state.value == args.state)
            and (args.domain is None or c.domain.value == args.domain)
        ]
        chosen.sort(key=lambda c: (c.opened_at or datetime.min.replace(tzinfo=UTC), c.case_id), reverse=True)
        if args.json:
            for c in chosen:
                print(c.model_dump_json(exclude_none=True))
            return 0
        now = datetime.now(UTC)
        print(
            f"{'case':25} {'participant':12} {'domain':16} {'state':12} {'severity':8} {'age':6} visit (UTC)"
        )
        for c in chosen:
            visit = f"{c.at:%Y-%m-%d %H:%M}" if c.at else ""
            print(
                f"{c.case_id:25} {c.participant[:10]:12} {c.domain.value:16} {c.state.value:12} "
                f"{c.severity:8} {_age(c, now):6} {visit}"
            )
        print(f"{len(chosen)} case(s)", file=sys.stderr)
        return 0

    return _with_store(args, action)


def _show(args: argparse.Namespace) -> int:
    def action(transport: Any) -> int:
        from gateway.influx.case_log import read
        from processing.cases import fold

        events = read(transport, case_id=args.case_id)
        if not events:
            return _fail(f"no case {args.case_id}")
        case = fold(events)[args.case_id]
        if args.json:
            print(case.model_dump_json(exclude_none=True))
            for e in events:
                print(e.model_dump_json(exclude_none=True))
            return 0
        print(f"{case.case_id}  {case.domain.value}  {case.state.value}  {case.severity}")
        print(f"participant {case.participant}  station {case.station_id}  opened {case.opened_at}")
        if case.evidence is not None:
            print(f"evidence: {case.evidence.rule}: {case.evidence.detail}")
            for metric, base in case.evidence.baseline.items():
                now = case.evidence.current.get(metric)
                print(f"  {metric:26} baseline {base:<10g} now {'' if now is None else f'{now:g}'}")
        if case.assignee:
            print(f"assignee {case.assignee}")
        if case.reason:
            print(f"resolved {case.resolved_at} by {case.resolved_by}: {case.reason.value}")
        print("events:")
        for e in events:
            who = "" if e.actor == "frailwatch" else f" by {e.actor}"
            print(f"  {e.processed_at:%Y-%m-%d %H:%M} {e.event.value:15}{who} {e.note or ''}")
        return 0

    return _with_store(args, action)


def _act(args: argparse.Namespace) -> int:
    def action(transport: Any) -> int:
        from gateway.influx.case_log import append, read
        from processing.cases import CaseTransitionError, acknowledge, fold, resolve
        from telemetry.cases import ResolveReason

        if args.note is not None and "\n" in args.note:
            return _fail("--note must be one line")
        events = read(transport, case_id=args.case_id)
        if not events:
            raise CaseTransitionError("unknown_case", f"no case {args.case_id}")
        case = fold(events)[args.case_id]
        now = datetime.now(UTC)
        common: dict[str, Any] = {
            "actor": args.staff,
            "at": now,
            "station_id": args.station,
            "note": args.note,
        }
        if args.cases_command == "ack":
            event = acknowledge(case, **common)
        else:
            event = resolve(case, reason=ResolveReason(args.reason), **common)
        append(transport, [event])
        print(f"{case.case_id}: {event.event.value} by {event.actor} ({event.event_id})")
        return 0

    return _with_store(args, action)


# --- arguments -----------------------------------------------------------------------------------


def _influx_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="InfluxDB URL (else FRAILWATCH_GATEWAY_INFLUX_URL)")
    parser.add_argument("--database", help="database (else FRAILWATCH_GATEWAY_INFLUX_DATABASE)")


# The enums' values, spelled out so registering the subcommand imports nothing (a test keeps them
# equal to telemetry.cases' CaseState, Domain and ResolveReason).
STATES = ("open", "acknowledged", "resolved")
DOMAINS = ("mobility", "strength", "balance", "self_report", "frailty_category")
REASONS = ("confirmed_referred", "not_confirmed", "explained", "recovered")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cases = subparsers.add_parser("cases", help="decline cases: replay visits, list, show, ack, resolve")
    sub = cases.add_subparsers(dest="cases_command", required=True, metavar="ACTION")

    rep = sub.add_parser("replay", help="run the case detector over visits (one JSON object per line)")
    rep.add_argument("--input", required=True, metavar="VISITS.jsonl")
    rep.add_argument("--json", action="store_true", help="one case event per line as JSON")
    rep.add_argument("--close-suggestions", action="store_true", help="also print close_suggested events")
    rep.set_defaults(handler=_replay)

    lst = sub.add_parser("list", help="cases in InfluxDB, newest first")
    lst.add_argument("--participant", help="one participant's pseudonym")
    lst.add_argument("--state", choices=STATES)
    lst.add_argument("--domain", choices=DOMAINS)
    lst.add_argument("--json", action="store_true")
    _influx_options(lst)
    lst.set_defaults(handler=_list)

    show = sub.add_parser("show", help="one case: its state, evidence and events")
    show.add_argument("case_id", metavar="CASE_ID")
    show.add_argument("--json", action="store_true")
    _influx_options(show)
    show.set_defaults(handler=_show)

    for name, text in (("ack", "acknowledge a case"), ("resolve", "resolve a case with a reason")):
        act = sub.add_parser(name, help=text)
        act.add_argument("case_id", metavar="CASE_ID")
        act.add_argument("--staff", required=True, help="your staff id (no personal identifiers)")
        act.add_argument("--note", help="one line of free text (identifiers are refused)")
        act.add_argument("--station", help="the acting station (default: the case's station)")
        if name == "resolve":
            act.add_argument("--reason", required=True, choices=REASONS)
        _influx_options(act)
        act.set_defaults(handler=_act)
