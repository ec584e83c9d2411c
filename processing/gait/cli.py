"""``frailwatch analyze gait --input FILE.csv``: gait of one recording from a CSV file.

CSV with a header: ``acc_x,acc_y,acc_z`` (m/s² including gravity, sensor frame, any
orientation), optionally ``gyr_x,gyr_y,gyr_z`` (deg/s) and ``time_s`` (then ``--fs`` may be
omitted). Bad input (missing columns, non-numbers, NaN, too short, no walking): exit code 2 and
one line on stderr. Numba is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from processing.csv_input import (
    FloatColumns,
    InputError,
    add_analysis_parser,
    print_table,
    read_columns,
    sampling_rate,
)

ACC = ("acc_x", "acc_y", "acc_z")
GYR = ("gyr_x", "gyr_y", "gyr_z")


def register(analyses: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_analysis_parser(analyses, "gait", "gait from a lower-back IMU recording (CSV)", __doc__)
    parser.add_argument("--sensor-height-m", type=float, metavar="M", help="sensor height above ground")
    parser.add_argument("--height-m", type=float, metavar="M", help="body height (if sensor height unknown)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from processing.errors import SignalError
    from processing.gait import analyze_gait

    try:
        columns = read_csv(args.input)
        fs_hz = sampling_rate(columns, args.fs)
        acc = np.column_stack([columns[c] for c in ACC])
        gyr = np.column_stack([columns[c] for c in GYR]) if all(c in columns for c in GYR) else None
        result = analyze_gait(
            acc, fs_hz, gyr=gyr, sensor_height_m=args.sensor_height_m, height_m=args.height_m
        )
    except InputError as exc:
        print(f"error: {args.input}: {exc}", file=sys.stderr)
        return 2
    except SignalError as exc:
        print(f"error: {args.input}: {exc.reason}: {exc.detail}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.model_dump(mode="json")))
    else:
        print_table(result.model_dump(exclude={"initial_contacts_s"}))
    return 0


def read_csv(path: Path) -> FloatColumns:
    """An IMU CSV: ``acc_*`` required, ``gyr_*`` all three or none, ``time_s`` optional."""
    columns = read_columns(path, ACC, (*GYR, "time_s"))
    if 0 < sum(c in columns for c in GYR) < len(GYR):
        raise InputError("gyroscope needs all of gyr_x,gyr_y,gyr_z")
    return columns
