"""``frailwatch analyze sts --input FILE.csv``: chair-stand test (repeated sit-to-stand) from a
lower-back IMU recording.

CSV with a header, as for gait: ``acc_x,acc_y,acc_z`` (m/s² including gravity, any
orientation), optionally ``gyr_x,gyr_y,gyr_z`` (deg/s, sharper movement onsets) and ``time_s``
(then ``--fs`` may be omitted). Bad input (missing columns, non-numbers, NaN, too short, no
stand-up): exit code 2 and one line on stderr. Numba is imported only when the command runs.
"""

from __future__ import annotations

import argparse

from pydantic import BaseModel

from processing.csv_input import add_analysis_parser
from processing.imu_cli import FloatArray, report


def register(analyses: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_analysis_parser(
        analyses, "sts", "chair-stand test (sit-to-stand) from a lower-back IMU recording (CSV)", __doc__
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return report(args, _analyse)


def _analyse(acc: FloatArray, gyr: FloatArray | None, fs_hz: float) -> BaseModel:
    # Imported here: a file that cannot be read is reported without loading Numba.
    from processing.sts import analyze_sts

    return analyze_sts(acc, gyr, fs_hz)
