"""Signal processing and scoring: pure functions, no I/O.

Conventions every analysis here follows (agreed once, for gait, balance, sit-to-stand, TUG):

- Layout: one sub-package per test (``gait/``, ``balance/``, ``sts/``, ``tug/``), each with
  ``_kernels.py`` (private Numba kernels, ``@njit(cache=True, nogil=True)``, no object mode, each
  docstring citing the paper and section it implements), ``reference.py`` (the same computations
  in plain NumPy, the oracle the tests compare the kernels with) and a public module that
  validates input, calls the kernels and returns a pydantic result model with units in the field
  names. ``synthetic/`` holds NumPy-only signal models with known ground truth (the edge
  simulators import them, so they must never import Numba).
- Input: ``acc`` as ``(n, 3)`` float64 m/s² including gravity, ``gyr`` ``(n, 3)`` deg/s or None,
  ``fs_hz`` float; centre of pressure as ``(n, 2)`` mm (x = medio-lateral, y = antero-posterior).
  Sensor axes are never assumed: :mod:`processing.imu` finds vertical and forward.
- Errors: bad or unusable input raises :class:`processing.errors.SignalError` with a short
  ``reason`` (``too_short``, ``not_finite``, ``no_walking``, ...) and a sentence; never a number
  made up from noise.
- CLI: ``frailwatch analyze <test>`` in each sub-package's ``cli.py``; exit code 2 and one line on
  stderr for bad input.
"""
