"""``frailwatch analyze balance --input FILE.csv --fs HZ``: sway measures of one stance.

CSV with a header: ``cop_x,cop_y`` (centre of pressure in mm; x = medio-lateral, y =
antero-posterior), optionally ``time_s`` (then ``--fs`` may be omitted). The trace is low-passed
at 5 Hz (zero phase) unless ``--lowpass-hz 0``. Bad input (missing columns, non-numbers, NaN,
too short, no sway): exit code 2 and one line on stderr. Numba is imported only when the command
runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

# The gait CLI's error type and sampling-rate inference are generic; its CSV reader is not (it
# requires the accelerometer columns), hence read_columns below.
from processing.gait.cli import InputError, sampling_rate

COP = ("cop_x", "cop_y")


def register(analyses: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = analyses.add_parser(
        "balance",
        help="standing balance from a centre-of-pressure recording (CSV)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--input", required=True, type=Path, metavar="FILE.csv")
    parser.add_argument("--fs", type=float, metavar="HZ", help="sampling rate (else from time_s)")
    parser.add_argument("--condition", choices=("eyes_open", "eyes_closed"), help="stance condition")
    parser.add_argument(
        "--lowpass-hz", type=float, default=5.0, metavar="HZ", help="zero-phase low-pass (0: none; default 5)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from processing.balance import analyze_balance
    from processing.errors import SignalError

    try:
        columns = read_columns(args.input, COP, ("time_s",))
        fs_hz = sampling_rate(columns, args.fs)
        cop = np.column_stack([columns[c] for c in COP])
        lowpass = args.lowpass_hz if args.lowpass_hz and args.lowpass_hz > 0 else None
        result = analyze_balance(cop, fs_hz, condition=args.condition, lowpass_hz=lowpass)
    except InputError as exc:
        print(f"error: {args.input}: {exc}", file=sys.stderr)
        return 2
    except SignalError as exc:
        print(f"error: {args.input}: {exc.reason}: {exc.detail}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.model_dump(mode="json")))
    else:
        _print_table(result.model_dump())
    return 0


def read_columns(
    path: Path, required: Sequence[str], optional: Sequence[str] = ()
) -> dict[str, npt.NDArray[np.float64]]:
    """The named columns of a CSV with a header, as float arrays; InputError naming what is wrong."""
    try:
        with path.open(newline="") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            rows = [row for row in reader if row]
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"not a CSV text file ({exc})") from exc
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} (header must include {','.join(required)})")
    wanted = [c for c in (*required, *optional) if c in header]
    index = {c: header.index(c) for c in wanted}
    data: dict[str, list[float]] = {c: [] for c in wanted}
    for line, row in enumerate(rows, start=2):
        for c in wanted:
            try:
                data[c].append(float(row[index[c]]))
            except (IndexError, ValueError):
                cell = row[index[c]] if index[c] < len(row) else ""
                raise InputError(f"line {line}: {c} is not a number ({cell!r})") from None
    return {c: np.asarray(v, dtype=np.float64) for c, v in data.items()}


def _print_table(values: dict[str, Any]) -> None:
    width = max(len(name) for name in values)
    for name, value in values.items():
        shown = "—" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{name.ljust(width)}  {shown}")
