"""Which retention policy each point goes to: line protocol split by its measurements' policies.

The v1 ``/write`` API takes one retention policy per request (``rp=``), so a body mixing
clinical and operational points must become one body per policy. The policy of a line is its
measurement's, looked up in a mapping (the writer's default:
:data:`gateway.influx_schema.NON_DEFAULT_POLICIES`);
a measurement the mapping does not name goes to the database's default policy (None).

The routed lines are found by one regular-expression scan for a newline followed by a routed
name and its separator (the engine skips from newline to newline at C speed): a body without any
comes back whole, and in a mixed one only the routed lines are cut out — work grows with the few
heartbeat or stats lines, not with the readings around them. Routed names must be plain (no
comma, space, backslash or newline), so a name followed by a comma or space is the measurement.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

__all__ = ["split_by_policy"]


@lru_cache(maxsize=16)
def _plan(routes: tuple[tuple[str, str], ...]) -> tuple[dict[bytes, str], re.Pattern[bytes]]:
    """(measurement bytes -> policy, the pattern of a line starting with a routed measurement)."""
    by_name: dict[bytes, str] = {}
    for name, policy in routes:
        if not name or any(c in name for c in ", \\\n"):
            raise ValueError(f"a routed measurement must be a plain name, not {name!r}")
        by_name[name.encode()] = policy
    names = b"|".join(re.escape(n) for n in sorted(by_name, key=len, reverse=True))
    return by_name, re.compile(rb"\n(" + names + rb")[, ]")


def split_by_policy(body: bytes, policies: Mapping[str, str]) -> list[tuple[str | None, bytes]]:
    """``body``'s lines grouped by retention policy, default (None) first, the others in order of
    first appearance, each in its original order. A body with no routed measurement comes back
    whole, unsplit."""
    if not body or not policies:
        return [(None, body)]
    by_name, routed_line = _plan(tuple(sorted(policies.items())))
    padded = b"\n" + body  # every line, the first included, now follows a newline
    rest: list[bytes] = []
    routed: dict[str, list[bytes]] = {}
    pos = 0
    for match in routed_line.finditer(padded):
        start = match.start() + 1
        end = padded.find(b"\n", match.end())
        end = len(padded) if end < 0 else end
        rest.append(padded[pos:start])
        routed.setdefault(by_name[match.group(1)], []).append(padded[start:end])
        pos = end
    if not routed:
        return [(None, body)]
    rest.append(padded[pos:])
    # Each piece runs from the newline that ended the line before it: drop that newline.
    default = b"".join(piece[1:] for piece in rest)
    if default and not default.endswith(b"\n"):
        default += b"\n"
    out: list[tuple[str | None, bytes]] = [(None, default)] if default else []
    return out + [(policy, b"\n".join(lines) + b"\n") for policy, lines in routed.items()]
