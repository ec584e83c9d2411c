"""The error every analysis raises for input it cannot turn into a trustworthy number."""

from __future__ import annotations


class SignalError(ValueError):
    """A recording that cannot be analysed. ``reason`` is a short stable code for dead letters
    and metrics (``too_short``, ``not_finite``, ``bad_sampling_rate``, ``no_walking``, ``no_sway``,
    ``bad_shape``, ``no_repetitions``, ...); the message says what was wrong in words."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")
