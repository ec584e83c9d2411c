"""``frailwatch score --input VISIT.json [--json]``: SPPB, AWGS 2019, K-FRAIL and Fried for one visit.

VISIT.json is one JSON object with the fields of :class:`processing.scoring.VisitInputs` (all
optional; unknown keys are refused), e.g.::

    {"sex": "female", "height_cm": 155, "weight_kg": 55, "grip_max_kg": 16.5,
     "walk_distance_m": 4, "walk_time_s": 5.1, "chair_stand_5x_s": 13.2,
     "side_by_side_s": 10, "semi_tandem_s": 10, "tandem_s": 6.4}

With ``tug_time_s`` the TUG fall risk is judged at ``--tug-fall-risk-s`` (default 13.5 s,
Shumway-Cook 2000; 12 s in CDC STEADI). A part whose inputs are missing is shown as "—" with what
it lacked. Bad input (unreadable file,
not JSON, a wrong value): exit code 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from processing.scoring.visit import VisitInputs, VisitScores


class InputError(Exception):
    """The file is not a visit (its message is the one stderr line)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "score",
        help="frailty and sarcopenia scores (SPPB, AWGS, K-FRAIL, Fried) for one visit (JSON)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--input", required=True, type=Path, metavar="VISIT.json")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--tug-fall-risk-s",
        type=_cutoff,
        default=None,
        metavar="S",
        help="TUG time from which fall risk is raised (default 13.5 s; 12 s in CDC STEADI)",
    )
    parser.set_defaults(handler=run)


def _cutoff(text: str) -> float:
    from processing.scoring.tug import check_cutoff

    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    try:
        return check_cutoff(seconds)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from processing.scoring.tug import TUG_FALL_RISK_S
    from processing.scoring.visit import score_visit

    try:
        inputs = read_visit(args.input)
    except InputError as exc:
        print(f"error: {args.input}: {exc}", file=sys.stderr)
        return 2
    scores = score_visit(inputs, tug_fall_risk_s=args.tug_fall_risk_s or TUG_FALL_RISK_S)
    if args.json:
        print(json.dumps(scores.model_dump(mode="json")))
    else:
        print(render(scores))
    return 0


def read_visit(path: Path) -> VisitInputs:
    """The visit's inputs; InputError naming the first problem (and how many more there are)."""
    from pydantic import ValidationError

    from processing.scoring.visit import VisitInputs

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file") from None
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON (line {exc.lineno} column {exc.colno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise InputError(f"expected one JSON object with the visit's fields, got {type(data).__name__}")
    try:
        return VisitInputs.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        where = ".".join(str(part) for part in first["loc"]) or "visit"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InputError(f"{where}: {first['msg']}{more}") from None


def render(scores: VisitScores) -> str:
    """A short human-readable report, one block per instrument."""
    lines: list[str] = []
    sppb = scores.sppb
    lines.append(
        f"SPPB     {sppb.total}/12 (balance {sppb.balance}, gait {sppb.gait}, chair {sppb.chair}; "
        f"walk {_distance(sppb.walk_distance_m)})"
        if sppb
        else _absent("SPPB", scores, "sppb")
    )
    awgs = scores.awgs
    if awgs:
        flags = (
            f"low strength {_yn(awgs.low_muscle_strength)}, low performance "
            f"{_yn(awgs.low_physical_performance)}, low muscle mass {_yn(awgs.low_muscle_mass)}"
        )
        note = "" if awgs.complete else f"; could be higher, missing: {', '.join(awgs.missing)}"
        lines.append(f"AWGS     {awgs.status} (level {awgs.level}; {flags}{note})")
    else:
        lines.append(_absent("AWGS", scores, "awgs"))
    kf = scores.kfrail
    lines.append(f"K-FRAIL  {kf.score}/5 {kf.category}" if kf else _absent("K-FRAIL", scores, "kfrail"))
    fr = scores.fried
    lines.append(
        f"Fried    {fr.count}/5 {fr.category} (15 ft walk {fr.walk_15ft_s:.2f} s from {fr.walk_source}, "
        f"BMI {fr.bmi_kg_m2:.1f})"
        if fr
        else _absent("Fried", scores, "fried")
    )
    tug = scores.tug
    if tug:
        risk = "raised fall risk" if tug.raised else "no raised fall risk"
        lines.append(f"TUG      {tug.tug_time_s:.1f} s: {risk} (cut-off {tug.cutoff_s:g} s)")
    return "\n".join(lines)


def _absent(name: str, scores: VisitScores, part: str) -> str:
    return f"{name.ljust(8)} — (missing: {', '.join(scores.missing.get(part, ()))})"


def _yn(flag: bool | None) -> str:
    return "?" if flag is None else "yes" if flag else "no"


def _distance(metres: float | None) -> str:
    return "not done" if metres is None else f"{metres:g} m"
