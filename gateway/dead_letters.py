"""Dead letters: what the gateway keeps of every message it refuses, and of the edge's refusals.

:class:`Refusal` is why a message (or part of one) was refused. :class:`DeadLetters` turns it
into a :class:`telemetry.DeadLetter` — topic and detail redacted, a redacted excerpt of the
bytes — adds its ``dead_letter`` point to the caller's table and publishes it on
``fw/v1/gateway/deadletter``; the delivery waits for both. A letter's point identity comes from
the refused bytes (:func:`letter_identity`): the second of their own ``measured_at``/``at`` plus
a digest of topic, bytes, reason and path as the nanoseconds, so a redelivered refusal overwrites
its letter. An edge's letter (``fw/v1/<station>/deadletter``) is stored the same way
(:func:`edge_letter_point`), at its own ``at``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway import influx_schema
from gateway.acknowledgements import Delivery
from gateway.metrics import Metrics
from gateway.mqtt_session import MqttSession
from gateway.point_table import Point, PointTable
from telemetry import codec, topics
from telemetry.errors import Reason
from telemetry.events import DeadLetter
from telemetry.redaction import excerpt, redact

log = logging.getLogger("frailwatch.gateway")
_MEASURED_AT = re.compile(rb'"(?:measured_at|at)"\s*:\s*"([^"]{10,40})"')


@dataclass(frozen=True)
class Refusal:
    """Why a message, or one reading of a batch, is refused."""

    reason: Reason
    detail: str
    path: str = ""
    message_id: str | None = None
    station: str | None = None  # the topic's station, when the refusal is about a station mismatch


def letter_identity(payload: bytes, topic: str, reason: str, path: str) -> tuple[int | None, str]:
    """What makes a refused message's ``dead_letter`` point the same point when it is redelivered:
    its own time (the first ``measured_at``/``at`` in the bytes, if one parses) and a digest of the
    topic, bytes, reason and path (the same bytes may be refused on two topics). The time is None
    when the bytes carry none (the caller stamps receipt; the ``digest`` field then still tells
    copies apart from distinct letters)."""
    digest = hashlib.blake2b(payload, digest_size=8, person=b"fw-deadletter")
    digest.update(b"\0" + topic.encode() + b"\0" + reason.encode() + b"\0" + path.encode())
    hexdigest = digest.hexdigest()
    at: datetime | None = None
    match = _MEASURED_AT.search(payload[:65_536])
    if match is not None:
        try:
            at = datetime.fromisoformat(match.group(1).decode("ascii").replace("Z", "+00:00"))
        except (UnicodeDecodeError, ValueError):
            at = None
        if at is not None and at.tzinfo is None:
            at = None
    if at is None:
        return None, hexdigest
    return letter_time_ns(influx_schema.time_ns(at), hexdigest), hexdigest


def letter_time_ns(time_ns: int, digest: str) -> int:
    """The second of ``time_ns`` plus the digest as nanoseconds: distinct letters stamped with the
    same time (corpus cases of one message, a batch's positions) get distinct points — 10⁹ slots a
    second, where the last 3 digits alone collide for a few dozen letters — at < 1 s of distortion."""
    return time_ns - time_ns % 10**9 + int(digest, 16) % 10**9


def letter_point(letter: DeadLetter, time_ns: int, gateway: str, digest: str | None = None) -> Point:
    tags = {
        influx_schema.STATION_TAG: letter.station_id,
        "reason": letter.reason.value,
        "source": letter.source,
        influx_schema.GATEWAY_TAG: gateway,
    }
    fields = {
        "size_bytes": letter.size_bytes,
        "topic": letter.topic,
        "detail": letter.detail,
        "path": letter.path,
        "excerpt": letter.excerpt,
        "message_id": letter.message_id,
        "digest": digest,
    }
    return (influx_schema.DEAD_LETTER.name, time_ns, tags, fields)


def edge_letter_point(letter: DeadLetter, delivery: Delivery, gateway: str) -> Point:
    """A station's own dead letter: stamped at its ``at``, a digest of the bytes fills the sub-second."""
    _, digest = letter_identity(delivery.payload, delivery.topic, letter.reason.value, letter.path)
    return letter_point(letter, letter_time_ns(influx_schema.time_ns(letter.at), digest), gateway, digest)


class DeadLetters:
    """Keeps the gateway's refusals: a point in the caller's table and a letter on the gateway's topic."""

    def __init__(self, gateway: str, session: MqttSession, metrics: Metrics) -> None:
        self.gateway = gateway
        self.session = session
        self.metrics = metrics

    def refuse(self, delivery: Delivery, refusal: Refusal, table: PointTable) -> None:
        """Add the letter's point to ``table`` (the caller writes it with the delivery as owner) and
        publish the letter; the delivery waits for the PUBACK."""
        table.add(self.letter(delivery, refusal), delivery.seq)

    def letter(self, delivery: Delivery, refusal: Refusal) -> Point:
        """Publish the letter (the delivery waits for the PUBACK) and return its point, for the
        caller to write with the delivery as owner."""
        reason = refusal.reason
        if reason is Reason.STORAGE_REJECTED:
            delivery.storage_rejected = True
        letter = DeadLetter(
            at=datetime.now(UTC),
            source="gateway",
            station_id=refusal.station or delivery.station,
            topic=redact(delivery.topic)[:512],
            reason=reason,
            detail=redact(refusal.detail)[:1024],
            path=refusal.path[:256],
            excerpt=excerpt(delivery.payload),
            size_bytes=len(delivery.payload),
            message_id=refusal.message_id,
        )
        self.metrics.dead_letters.labels(reason.value).inc()
        log.warning("dead letter: %s at %s (%s)", reason.value, refusal.path or "-", letter.topic)
        # The refused message's own second (+ a digest of its bytes, reason and path as the ns),
        # so a redelivered copy overwrites its letter; receipt time only when the bytes carry none.
        at, digest = letter_identity(delivery.payload, delivery.topic, reason.value, refusal.path)
        if at is None:
            at = letter_time_ns(influx_schema.time_ns(delivery.received_at), digest)
        self.session.publish(delivery, topics.GATEWAY_DEADLETTER, codec.encode(letter))
        return letter_point(letter, at, self.gateway, digest)
