"""Masking what could identify a person in text that leaves a process: dead-letter topics,
details and excerpts of refused bytes, on the edge and on the gateway alike.

:func:`redact` masks identifier-named JSON values, e-mail-like tokens and long digit runs, then
refuses the whole text if :func:`telemetry.identifiers.find_identifier` still sees an identifier;
:func:`excerpt` is the first characters of refused bytes, redacted.
"""

from __future__ import annotations

import re

from telemetry.events import EXCERPT_BYTES
from telemetry.identifiers import find_identifier

EXCERPT_CHARS = EXCERPT_BYTES
# Long digit runs (resident, phone, member numbers) and e-mail-like tokens are masked in any case;
# find_identifier's patterns catch the formatted ones.
_DIGITS = re.compile(r"\d[\d\s.-]{5,}\d")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*")
_KEYED = re.compile(r'("(?:participant_id|resident_number|name|phone|member_id|email)"\s*:\s*)"[^"]*"', re.I)
REDACTED = "*** (redacted: looked like it held an identifier)"


def redact(text: str) -> str:
    """``text`` with digit runs, e-mail addresses and identifier-named JSON values masked, on one line."""
    text = _KEYED.sub(r'\1"***"', text)
    text = _EMAIL.sub("***", text)
    text = _DIGITS.sub(_mask_digits, text)
    if find_identifier(text) is not None:
        return REDACTED
    return text.replace("\r", " ").replace("\n", " ")


def excerpt(data: bytes, limit: int = EXCERPT_CHARS) -> str:
    """The first ``limit`` characters of refused bytes as text, redacted."""
    # Redact a wider window, then cut: a cut first could split an address out of its pattern.
    return redact(data[: limit * 4].decode("utf-8", "replace"))[:limit]


def _mask_digits(match: re.Match[str]) -> str:
    run = match.group(0)
    # Timestamps and measurements keep their shape; only long pure digit runs are masked.
    return "#" * len(run) if sum(c.isdigit() for c in run) >= 7 and ":" not in run else run
