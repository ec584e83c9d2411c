"""Participant pseudonyms: a keyed HMAC-SHA256 of the participant's identifier.

architecture: "Pseudonyms only": no raw identifier leaves a station. A plain hash of a resident number can be
reversed by enumeration, so the pseudonym is keyed with a deployment-wide secret; the same key at
every station makes one person one history across stations. The contract only ever carries the
pseudonym; the edge agent computes it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

PSEUDONYM_PATTERN = r"^[0-9a-f]{32}$"
PSEUDONYM_RE = re.compile(PSEUDONYM_PATTERN)
MIN_KEY_BYTES = 16


def normalise_identifier(raw: str) -> str:
    """Canonical form of an identifier so trivial spelling differences give one pseudonym.

    NFKC (full-width digits become ASCII), upper case, spaces and hyphens removed:
    ``"880101-1234567"`` and ``"8801011234567"`` are the same person.
    """
    text = unicodedata.normalize("NFKC", raw).upper()
    return re.sub(r"[\s\-]", "", text)


def pseudonymise(key: bytes, identifier: str) -> str:
    """The 128-bit hex pseudonym of ``identifier`` under ``key`` (HMAC-SHA256, truncated)."""
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"pseudonym key must be at least {MIN_KEY_BYTES} bytes")
    canonical = normalise_identifier(identifier)
    if not canonical:
        raise ValueError("cannot pseudonymise an empty identifier")
    digest = hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:32]
