"""Runs inside the mobgap venv (started by benchmarks/gait_accuracy.py): read the Mobilise-D lab
example recordings shipped in mobgap's source distribution with mobgap's own loader and write
the lower-back IMU signals, participant metadata and the INDIP reference walking bouts, initial
contacts and turns to an npz.
Imports nothing from FrailWatch.

Usage: python _mobilised_extract.py EXAMPLE_DATA_DIR OUT.npz
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

warnings.filterwarnings("ignore")


def main(example_dir: str, out: str) -> int:
    from mobgap.data import GenericMobilisedDataset

    paths = sorted(Path(example_dir, "data", "lab").glob("*/*/data.mat"))
    dataset = GenericMobilisedDataset(
        paths,
        test_level_names=GenericMobilisedDataset.COMMON_TEST_LEVEL_NAMES["tvs_lab"],
        parent_folders_as_metadata=["cohort", "participant_id"],
        measurement_condition="laboratory",
        reference_system="INDIP",
        reference_para_level="wb",
        missing_reference_error_type="skip",
    )
    arrays: dict[str, Any] = {}
    index = []
    for i, trial in enumerate(dataset):
        data = trial.data_ss
        wbs = trial.reference_parameters_.wb_list
        columns = [
            "start",
            "end",
            "avg_cadence_spm",
            "avg_walking_speed_mps",
            "avg_stride_length_m",
            "n_strides",
        ]
        arrays[f"imu_{i}"] = data[["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]].to_numpy(
            dtype=float
        )
        arrays[f"wb_{i}"] = wbs[columns].to_numpy(dtype=float)
        # Reference initial contacts (sample, walking-bout number) and turns (start, end, angle),
        # to tell missed or extra steps apart from step-length errors.
        ics = trial.reference_parameters_.ic_list.reset_index()
        arrays[f"ic_{i}"] = ics[["ic", "wb_id"]].to_numpy(dtype=float)
        turns = trial.reference_parameters_.turn_parameters.reset_index()
        arrays[f"turn_{i}"] = (
            turns[["start", "end", "angle_deg", "wb_id"]].to_numpy(dtype=float).reshape(-1, 4)
        )
        meta = trial.participant_metadata
        label = dict(zip(trial.index.columns, (str(v) for v in trial.index.iloc[0]), strict=True))
        index.append(
            {
                **label,
                "fs_hz": float(trial.sampling_rate_hz),
                "sensor_height_m": float(meta["sensor_height_m"]),
                "height_m": float(meta["height_m"]),
                "wb_columns": columns,
            }
        )
    arrays["index"] = np.array(json.dumps(index))
    np.savez(out, **arrays)
    print(json.dumps({"trials": len(index)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
