"""Decline cases: the pure core (no I/O, no Numba, no NumPy) the gateway, the CLI and the benchmark share.

- :mod:`~processing.cases.measurement_error` — the cited between-day SEM table (the noise side;
  the clinical-meaning side is :data:`processing.decline.DECLINE_RULES`).
- :mod:`~processing.cases.model` — :class:`VisitMeasures` in, :class:`Case` out.
- :mod:`~processing.cases.identity` — episodes and deterministic case and event ids.
- :mod:`~processing.cases.detect` — :func:`assess`: one participant's visits and case-event log →
  the new case events.
- :mod:`~processing.cases.fold` — :func:`fold`: the log → the current cases; the action
  constructors that validate a counsellor's step against the folded case.
"""

from processing.cases.detect import DEFAULT_SETTINGS, DOMAIN_METRICS, DetectorSettings, assess, merge_visits
from processing.cases.fold import acknowledge, assign, fold, prescribe, resolve, set_follow_up
from processing.cases.identity import case_id, detection_event_id, episodes
from processing.cases.measurement_error import MEASUREMENT_ERROR, MeasurementError
from processing.cases.model import MEASURE_NAMES, Case, CaseTransitionError, VisitMeasures

__all__ = [
    "DEFAULT_SETTINGS",
    "DOMAIN_METRICS",
    "MEASUREMENT_ERROR",
    "MEASURE_NAMES",
    "Case",
    "CaseTransitionError",
    "DetectorSettings",
    "MeasurementError",
    "VisitMeasures",
    "acknowledge",
    "assess",
    "assign",
    "case_id",
    "detection_event_id",
    "episodes",
    "fold",
    "merge_visits",
    "prescribe",
    "resolve",
    "set_follow_up",
]
