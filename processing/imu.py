"""Orientation of a lower-back IMU worn any way round: vertical from gravity, forward from motion.

Never assumes an axis order. Vertical is the direction of the mean acceleration (gravity
dominates any walking bout longer than a few strides; Moe-Nilssen 1998, "A new method for
evaluating motor control in gait under real-life environmental conditions", tilt correction).
Forward is the principal horizontal direction of acceleration variance, which during walking lies
along the line of progression (antero-posterior oscillation exceeds medio-lateral at the trunk).
Its sign cannot be told from acceleration variance alone; callers that need it resolve it (for
example from the phase between vertical and forward acceleration at initial contact).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from processing.errors import SignalError

FloatArray = npt.NDArray[np.float64]
GRAVITY = 9.80665


def check_imu(acc: npt.ArrayLike, fs_hz: float, min_seconds: float = 1.0) -> FloatArray:
    """``acc`` as a finite ``(n, 3)`` float64 array at a plausible rate, or a SignalError."""
    if not np.isfinite(fs_hz) or not 10.0 <= fs_hz <= 2000.0:
        raise SignalError("bad_sampling_rate", f"sampling rate {fs_hz} Hz is outside 10–2000 Hz")
    array = np.asarray(acc, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 3:
        raise SignalError("bad_shape", f"accelerometer must be (n, 3), got {array.shape}")
    if not np.isfinite(array).all():
        raise SignalError("not_finite", "accelerometer contains NaN or infinity")
    if array.shape[0] < min_seconds * fs_hz:
        raise SignalError(
            "too_short", f"{array.shape[0] / fs_hz:.2f} s of data, at least {min_seconds:.1f} s needed"
        )
    norm = float(np.linalg.norm(array.mean(axis=0)))
    if not 0.5 * GRAVITY < norm < 1.5 * GRAVITY:
        raise SignalError(
            "bad_units",
            f"mean acceleration magnitude {norm:.2f} is not ~9.81: expected m/s² including gravity",
        )
    return array


def vertical_axis(acc: FloatArray) -> FloatArray:
    """Unit vector of gravity in the sensor frame (pointing up: the mean specific force)."""
    mean = acc.mean(axis=0)
    return mean / np.linalg.norm(mean)


def to_body_frame(acc: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Project ``acc`` on vertical, forward and lateral axes.

    Returns ``(vertical, forward, lateral)`` 1-D signals in m/s²; vertical includes gravity
    (subtract ``GRAVITY`` or the mean for dynamic acceleration).
    """
    up = vertical_axis(acc)
    vertical = acc @ up
    horizontal = acc - np.outer(vertical, up)
    horizontal = horizontal - horizontal.mean(axis=0)
    # Principal direction of horizontal variance = line of progression.
    cov = horizontal.T @ horizontal
    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    forward_axis = eigenvectors[:, int(np.argmax(eigenvalues))]
    forward_axis = forward_axis - up * float(forward_axis @ up)
    forward_axis /= np.linalg.norm(forward_axis)
    lateral_axis = np.cross(up, forward_axis)
    return vertical, acc @ forward_axis, acc @ lateral_axis
