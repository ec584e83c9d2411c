"""``frailwatch analyze balance --input FILE.csv --fs HZ``: sway measures of one stance.

CSV with a header: ``cop_x,cop_y`` (centre of pressure in mm; x = medio-lateral, y =
antero-posterior), optionally ``time_s`` (then ``--fs`` may be omitted). The trace is low-passed
at 5 Hz (zero phase) unless ``--lowpass-hz 0``. Bad input (missing columns, non-numbers, NaN,
too short, no sway): exit code 2 and one line on stderr. Numba is imported only when the command
runs.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from processing.csv_input import InputError, add_analysis_parser, print_table, read_columns, sampling_rate

COP = ("cop_x", "cop_y")


def register(analyses: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_analysis_parser(
        analyses, "balance", "standing balance from a centre-of-pressure recording (CSV)", __doc__
    )
    parser.add_argument("--condition", choices=("eyes_open", "eyes_closed"), help="stance condition")
    parser.add_argument(
        "--lowpass-hz", type=float, default=5.0, metavar="HZ", help="zero-phase low-pass (0: none; default 5)"
    )
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
        print_table(result.model_dump())
    return 0
