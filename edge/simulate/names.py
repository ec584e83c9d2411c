"""Plausible Korean names for simulated participants: a common surname and two given-name
syllables, chosen by a hash of the member id — stable for an id, never a real person's record.

The simulated kiosk sends the name with each profile reading (as a registration kiosk does); the
edge keeps it in the station's roster and drops it from everything that leaves the station.
"""

from __future__ import annotations

import hashlib

SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍전고문양손배백허남심노"
GIVEN = "영순자옥숙희정미경선은혜명수철호민준성현진석동길복말례춘분금"


def korean_name(member_id: str) -> str:
    """E.g. '김영순' for one member id, always the same one."""
    digest = hashlib.sha256(member_id.encode()).digest()
    return SURNAMES[digest[0] % len(SURNAMES)] + GIVEN[digest[1] % len(GIVEN)] + GIVEN[digest[2] % len(GIVEN)]
