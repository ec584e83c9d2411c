"""``frailwatch analyze tug --input FILE.csv``: timed up-and-go (total time and phases) from a
lower-back IMU recording.

CSV with a header, as for gait: ``acc_x,acc_y,acc_z`` (m/s² including gravity, any
orientation), optionally ``gyr_x,gyr_y,gyr_z`` (deg/s; needed for the walk and turn phases) and ``time_s``
(then ``--fs`` may be omitted). Bad input (missing columns, non-numbers, NaN, too short, no
stand-up, sit-down or turn): exit code 2 and one line on stderr. Numba is imported only when the command runs.
"""

from __future__ import annotations

import argparse

from pydantic import BaseModel

from processing.csv_input import add_analysis_parser
from processing.imu_cli import FloatArray, report


def register(analyses: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_analysis_parser(
        analyses, "tug", "timed up-and-go from a lower-back IMU recording (CSV)", __doc__
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return report(args, _analyse)


def _analyse(acc: FloatArray, gyr: FloatArray | None, fs_hz: float) -> BaseModel:
    # Imported here: a file that cannot be read is reported without loading Numba.
    from processing.tug import analyze_tug

    return analyze_tug(acc, gyr, fs_hz)
