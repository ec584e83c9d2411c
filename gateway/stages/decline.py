"""Stage: decline detection, stateless — a participant's history comes from InfluxDB, never from memory.

Judged are the item's measured values and the visit scores the message changed (left by the
visit-score stage), those :mod:`processing.decline` has a rule for. For each, the participant's
earlier values of that metric are read back (all stations; one statement per metric,
:mod:`gateway.stages.history`), :func:`processing.decline.detect_decline` judges the new value,
and each event becomes a ``decline_event`` point — stamped with the value's own time (for a visit
score: the input that changed it), so a redelivery overwrites it — and a
:class:`telemetry.DeclineAlert` on ``fw/v1/alerts/decline/<station>``. A redelivery publishes the
alert again (at least once; consumers de-duplicate on participant, metric, rule and time).
"""

from __future__ import annotations

from gateway import schema
from gateway.followup import Effects, FollowUp, Value
from gateway.influx.reader import Row
from gateway.point_table import Point
from gateway.stages.history import at_of, history_statement, observations
from processing.decline import DECLINE_RULES, DeclineEvent, Observation, detect_decline
from telemetry import codec, topics
from telemetry.devices import Message
from telemetry.envelope import DeviceKind
from telemetry.events import DeclineAlert

# Kinds whose readings or recordings carry a decline metric (scores come from the visit stage).
MEASURING = frozenset(
    {DeviceKind.GRIP, DeviceKind.GAIT, DeviceKind.BALANCE, DeviceKind.SIT_TO_STAND, DeviceKind.TUG}
)


def judged(item: FollowUp) -> list[Value]:
    """The item's values that processing.decline has a rule for."""
    return [
        v
        for v in (*item.values, *item.scores)
        if v.metric in DECLINE_RULES and v.metric in schema.DECLINE_METRICS
    ]


class DeclineStage:
    name = "decline"

    def applies(self, message: Message) -> bool:
        return message.device_kind in MEASURING

    def statements(self, item: FollowUp) -> list[str]:
        return [history_statement(item.participant, v.metric, v.source) for v in judged(item)]

    def run(self, item: FollowUp, answers: list[list[Row]]) -> Effects:
        effects = Effects()
        message = item.message
        for value, rows in zip(judged(item), answers, strict=True):
            new = Observation(at=at_of(value.time_ns), station_id=message.station_id, value=value.value)
            for event in detect_decline(value.metric, observations(rows), new):
                effects.points.append(_event_point(message, value, event))
                alert = _alert(message, value, event)
                effects.alerts.append((topics.decline_alert(alert.station_id), codec.encode(alert)))
        return effects


def _event_point(message: Message, value: Value, event: DeclineEvent) -> Point:
    tags = {
        schema.STATION_TAG: message.station_id,
        schema.PARTICIPANT_TAG: message.participant,
        "metric": event.metric,
        "rule": event.rule,
        "severity": event.severity,
    }
    fields = {
        "baseline": event.baseline,
        "current": event.current,
        "change": event.change,
        "detail": event.detail[:512],
        "message_id": message.message_id,
    }
    return (schema.DECLINE_EVENT.name, value.event_time_ns, tags, fields)


def _alert(message: Message, value: Value, event: DeclineEvent) -> DeclineAlert:
    return DeclineAlert(
        at=at_of(value.event_time_ns),
        participant=message.participant,
        station_id=message.station_id,
        metric=event.metric,
        rule=event.rule,
        severity=event.severity,
        baseline=event.baseline,
        current=event.current,
        change=event.change,
        message_id=message.message_id,
        detail=event.detail[:512],
    )
