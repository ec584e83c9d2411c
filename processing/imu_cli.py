"""Shared by ``frailwatch analyze sts`` and ``analyze tug``: read an IMU CSV with gait's reader
(:func:`processing.gait.cli.read_csv`, same columns and errors), run one analysis, print JSON or
a table (:mod:`processing.csv_input`); bad input is exit code 2 with one line on stderr. No Numba
at import."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from processing.csv_input import InputError, print_table, sampling_rate
from processing.gait.cli import ACC, GYR, read_csv

FloatArray = npt.NDArray[np.float64]
Analysis = Callable[[FloatArray, FloatArray | None, float], BaseModel]


def read_imu_csv(args: argparse.Namespace) -> tuple[FloatArray, FloatArray | None, float]:
    """``(acc, gyr or None, fs_hz)`` from ``args.input`` and ``args.fs``; InputError if unusable."""
    columns = read_csv(args.input)
    fs_hz = sampling_rate(columns, args.fs)
    acc = np.column_stack([columns[c] for c in ACC])
    gyr = np.column_stack([columns[c] for c in GYR]) if all(c in columns for c in GYR) else None
    return acc, gyr, fs_hz


def report(args: argparse.Namespace, analysis: Analysis) -> int:
    """Run ``analysis`` on the CSV: 0 and the result on stdout, or 2 and one stderr line."""
    from processing.errors import SignalError

    try:
        result = analysis(*read_imu_csv(args))
    except InputError as exc:
        print(f"error: {args.input}: {exc}", file=sys.stderr)
        return 2
    except SignalError as exc:
        print(f"error: {args.input}: {exc.reason}: {exc.detail}", file=sys.stderr)
        return 2
    values = result.model_dump(mode="json")
    if args.json:
        print(json.dumps(values))
    else:
        print_table({k: _shown(v) for k, v in values.items()})
    return 0


def _shown(value: object) -> object:
    """Lists print as comma-separated seconds in the table."""
    if isinstance(value, list):
        return ", ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in value) or "—"
    return value
