"""What every ``frailwatch analyze`` command shares: read named float columns from a CSV with a
header, infer the sampling rate from ``time_s``, print a result as a two-column table.

Errors are :class:`InputError`, whose message is the one stderr line (exit code 2). NumPy only:
``frailwatch --help`` imports the CLIs and must not pay for Numba.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

FloatColumns = dict[str, npt.NDArray[np.float64]]


class InputError(Exception):
    """The file cannot be read as a recording (its message is the one stderr line)."""


def add_analysis_parser(
    analyses: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help: str,
    description: str | None,
) -> argparse.ArgumentParser:
    """The ``frailwatch analyze <name>`` parser with what every analysis takes: ``--input``, ``--fs``
    and ``--json``; the analysis adds its own options and its handler."""
    parser = analyses.add_parser(
        name, help=help, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--input", required=True, type=Path, metavar="FILE.csv")
    parser.add_argument("--fs", type=float, metavar="HZ", help="sampling rate (else from time_s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def read_columns(path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> FloatColumns:
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


def sampling_rate(columns: FloatColumns, fs: float | None) -> float:
    """``--fs`` if given, else 1 / the median step of ``time_s``."""
    if fs is not None:
        return float(fs)
    if "time_s" not in columns:
        raise InputError("no --fs given and no time_s column to infer the sampling rate from")
    steps = np.diff(columns["time_s"])
    if steps.size == 0 or not np.isfinite(steps).all() or np.median(steps) <= 0:
        raise InputError("time_s must increase to infer the sampling rate (or give --fs)")
    return float(1.0 / np.median(steps))


def print_table(values: dict[str, Any]) -> None:
    """One ``name  value`` line per result field; floats to three decimals, None as a dash."""
    width = max(len(name) for name in values)
    for name, value in values.items():
        shown = "—" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{name.ljust(width)}  {shown}")
