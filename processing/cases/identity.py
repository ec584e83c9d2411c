"""Deterministic names: case ids per episode, detection event ids, and the episode chain of a log.

A stateless, multi-replica gateway stays safe because every replica names things the same way,
whatever subset of visits it has seen:

- **Episodes.** Per (participant, domain) a new episode starts after each case is resolved; at
  most one case per episode. The first episode's marker is ``"first"``; the next one's is the
  event id of the ``resolved`` event that ended the previous case (:func:`episodes`).
- **Case id** = ``"case-" + hex20(sha256(participant, domain, marker))`` (:func:`case_id`).
- **Detection event id** = ``hex24(sha256(case_id, kind, discriminator))``: ``opened`` has none
  (one per case), ``updated`` and ``close_suggested`` the visit id, ``escalated`` the new severity
  (:func:`detection_event_id`). Two replicas that detect the same thing emit the same id, and
  the log reader counts it once.

When two people resolve one case concurrently, the first ``resolved`` event in log order
(processed_at, then event_id) ends it and names the next episode; the other is stale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from telemetry.cases import CaseEvent, CaseEventKind, Domain

FIRST_EPISODE = "first"
_SEPARATOR = "\x1f"  # unit separator: cannot occur in pseudonyms, domains or hex ids


def _digest(*parts: str) -> str:
    return hashlib.sha256(_SEPARATOR.join(parts).encode("utf-8")).hexdigest()


def case_id(participant: str, domain: Domain, marker: str = FIRST_EPISODE) -> str:
    """The id of the (only) case of this participant, domain and episode marker."""
    return "case-" + _digest("case", participant, domain.value, marker)[:20]


def detection_event_id(case: str, kind: CaseEventKind, discriminator: str = "") -> str:
    """The id of a detection event: one per (case, kind, discriminator)."""
    return _digest("event", case, kind.value, discriminator)[:24]


def log_order(events: Iterable[CaseEvent]) -> list[CaseEvent]:
    """Distinct events (the first copy of each event_id in order) ordered by processed_at, event_id."""
    ordered = sorted(events, key=lambda e: (e.processed_at, e.event_id))
    seen: set[str] = set()
    out = []
    for event in ordered:
        if event.event_id not in seen:
            seen.add(event.event_id)
            out.append(event)
    return out


@dataclass(frozen=True)
class Episode:
    """One episode of a (participant, domain): its case id and, if the case ended, how."""

    number: int
    marker: str
    case_id: str
    resolution: CaseEvent | None


def episodes(participant: str, domain: Domain, log: Iterable[CaseEvent]) -> list[Episode]:
    """The chain of episodes the log implies, oldest first; the last one is current (unresolved).

    Follows ``case_id(first)`` → its first ``resolved`` event → ``case_id(that event's id)`` → ...
    Resolved events of other case ids (stale duplicates, other domains) do not start episodes.
    """
    first_resolution: dict[str, CaseEvent] = {}
    for event in log_order(log):
        if event.event is CaseEventKind.RESOLVED and event.domain is domain:
            first_resolution.setdefault(event.case_id, event)
    chain: list[Episode] = []
    marker = FIRST_EPISODE
    while True:
        current = case_id(participant, domain, marker)
        resolution = first_resolution.get(current)
        chain.append(Episode(len(chain) + 1, marker, current, resolution))
        if resolution is None:
            return chain
        marker = resolution.event_id
