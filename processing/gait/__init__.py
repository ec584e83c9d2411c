"""Gait from a lower-back IMU: cadence, step and stride times and lengths, walking speed,
variability, regularity and symmetry. Public API: :func:`analyze_gait`,
:func:`analyze_gait_batch`, :class:`GaitInput`, :class:`GaitResult`."""

from processing.gait.analysis import GaitInput, GaitResult, analyze_gait
from processing.gait.batch import analyze_gait_batch

__all__ = ["GaitInput", "GaitResult", "analyze_gait", "analyze_gait_batch"]
