"""Detect direct identifiers in free text (Korean resident numbers, phone numbers, e-mail).

Free-text fields are the usual way names and numbers leak into telemetry; the contract refuses a
note that looks like it carries one rather than trying to redact it.
"""

from __future__ import annotations

import functools
import re

_PATTERNS: dict[str, re.Pattern[str]] = {
    # 주민등록번호: YYMMDD-GNNNNNN (G = 1..8), with or without the hyphen. The date part must be a
    # calendar date, so a 13-digit epoch-millisecond id (month 63...) is not mistaken for one.
    "resident registration number": re.compile(
        r"\b\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\s*-?\s*[1-8]\d{6}\b"
    ),
    # Korean mobile and landline numbers: 010-1234-5678, 02-123-4567, 031-..., 070-..., +82 10 ...
    # Area and mobile prefixes start 01-07, so a zero-padded counter id ("soak-0000012345") is
    # not taken for one.
    "phone number": re.compile(r"(?:\+82[\s-]?|\b0)[1-7]\d?[\s.-]?\d{3,4}[\s.-]?\d{4}\b"),
    # Starting only where a run of local-part characters starts finds the same addresses, but
    # in one pass: unanchored, every position of a long id was retried (~6 µs per message id).
    "e-mail address": re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.-]+"),
}


def find_identifier(text: str) -> str | None:
    """Name of the first kind of identifier found in ``text``, or None."""
    for kind, pattern in _PATTERNS.items():
        if pattern.search(text):
            return kind
    return None


# An id (message, visit, station, device) holds only [A-Za-z0-9_.:-]: no space, "+" or "@". A
# resident or phone number inside one is then a run of digits, "." and "-" of at least 9
# characters from its first digit (phone: 0 + 8 more digits at least; resident number: 13
# digits); an e-mail address cannot occur. Most ids have no such run, and finding the runs with
# str.translate/split is several times cheaper than the three patterns' scans.
_ID_TEXT = re.compile(r"[A-Za-z0-9_.:-]*")
_NOT_RUN = str.maketrans({c: " " for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:"})


@functools.lru_cache(maxsize=16384)
def find_identifier_in_id(text: str) -> str | None:
    """:func:`find_identifier` for an id, with the same answer, cheaper; cached, as station,
    device and visit ids repeat on every message."""
    if not _ID_TEXT.fullmatch(text):
        return find_identifier(text)
    for run in text.translate(_NOT_RUN).split():
        if len(run.lstrip(".-")) >= 9:
            return find_identifier(text)
    return None
