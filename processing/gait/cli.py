"""``frailwatch analyze gait --input FILE.csv``: gait of one recording from a CSV file.

CSV with a header: ``acc_x,acc_y,acc_z`` (m/s² including gravity, sensor frame, any
orientation), optionally ``gyr_x,gyr_y,gyr_z`` (deg/s) and ``time_s`` (then ``--fs`` may be
omitted). Bad input (missing columns, non-numbers, NaN, too short, no walking): exit code 2 and
one line on stderr. Numba is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ACC = ("acc_x", "acc_y", "acc_z")
GYR = ("gyr_x", "gyr_y", "gyr_z")


class InputError(Exception):
    """The file cannot be read as a recording (its message is the one stderr line)."""


def register(analyses: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = analyses.add_parser(
        "gait",
        help="gait from a lower-back IMU recording (CSV)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--input", required=True, type=Path, metavar="FILE.csv")
    parser.add_argument("--fs", type=float, metavar="HZ", help="sampling rate (else from time_s)")
    parser.add_argument("--sensor-height-m", type=float, metavar="M", help="sensor height above ground")
    parser.add_argument("--height-m", type=float, metavar="M", help="body height (if sensor height unknown)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
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
        _print_table(result.model_dump(exclude={"initial_contacts_s"}))
    return 0


def read_csv(path: Path) -> dict[str, npt.NDArray[np.float64]]:
    """Columns by header name as float arrays; InputError naming what is wrong."""
    try:
        with path.open(newline="") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            rows = [row for row in reader if row]
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"not a CSV text file ({exc})") from exc
    missing = [c for c in ACC if c not in header]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} (header must include acc_x,acc_y,acc_z)")
    partial = [c for c in GYR if c in header]
    if partial and len(partial) != 3:
        raise InputError("gyroscope needs all of gyr_x,gyr_y,gyr_z")
    wanted = [c for c in (*ACC, *GYR, "time_s") if c in header]
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


def sampling_rate(columns: dict[str, npt.NDArray[np.float64]], fs: float | None) -> float:
    if fs is not None:
        return float(fs)
    if "time_s" not in columns:
        raise InputError("no --fs given and no time_s column to infer the sampling rate from")
    steps = np.diff(columns["time_s"])
    if steps.size == 0 or not np.isfinite(steps).all() or np.median(steps) <= 0:
        raise InputError("time_s must increase to infer the sampling rate (or give --fs)")
    return float(1.0 / np.median(steps))


def _print_table(values: dict[str, Any]) -> None:
    width = max(len(name) for name in values)
    for name, value in values.items():
        shown = "—" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{name.ljust(width)}  {shown}")
