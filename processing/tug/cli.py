"""``frailwatch analyze tug --input FILE.csv``: timed up-and-go (total time and phases) from a
lower-back IMU recording.

CSV with a header, as for gait: ``acc_x,acc_y,acc_z`` (m/s² including gravity, any
orientation), optionally ``gyr_x,gyr_y,gyr_z`` (deg/s; needed for the walk and turn phases) and ``time_s``
(then ``--fs`` may be omitted). Bad input (missing columns, non-numbers, NaN, too short, no
stand-up, sit-down or turn): exit code 2 and one line on stderr. Numba is imported only when the command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pydantic import BaseModel

from processing.imu_cli import FloatArray, report


def register(analyses: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = analyses.add_parser(
        "tug",
        help="timed up-and-go from a lower-back IMU recording (CSV)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--input", required=True, type=Path, metavar="FILE.csv")
    parser.add_argument("--fs", type=float, metavar="HZ", help="sampling rate (else from time_s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return report(args, _analyse)


def _analyse(acc: FloatArray, gyr: FloatArray | None, fs_hz: float) -> BaseModel:
    # Imported here: a file that cannot be read is reported without loading Numba.
    from processing.tug import analyze_tug

    return analyze_tug(acc, gyr, fs_hz)
