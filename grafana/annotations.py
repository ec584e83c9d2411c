"""Decline events as Grafana annotations on the participant dashboard (optional, for the gateway).

The participant dashboard already draws decline events from InfluxDB; posting them to Grafana as
well makes them visible on every dashboard's timeline and in Grafana's annotation search. The
gateway may call :func:`post_decline` after it has written the event; a failure here must never
hold back an acknowledgement, so it raises :class:`AnnotationError` for the caller to log.
"""

from __future__ import annotations

from typing import Any

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaException

from telemetry.events import DeclineAlert

PARTICIPANT_DASHBOARD_UID = "frailwatch-participant"


class AnnotationError(RuntimeError):
    """Grafana refused or could not be reached; the event itself is safe in InfluxDB."""


def annotation_body(alert: DeclineAlert) -> dict[str, Any]:
    """What is posted: tags to filter by, a text a clinician reads; the pseudonym, never an identity."""
    baseline = "?" if alert.baseline is None else f"{alert.baseline:g}"
    current = "?" if alert.current is None else f"{alert.current:g}"
    return {
        "dashboard_uid": PARTICIPANT_DASHBOARD_UID,
        "time_from": int(alert.at.timestamp() * 1000),
        "tags": ["frailwatch", "decline", alert.metric, alert.rule, alert.severity, alert.station_id],
        "text": (
            f"{alert.participant} {alert.metric}: {baseline} → {current} ({alert.rule}, {alert.station_id})"
        ),
    }


def post_decline(api: GrafanaApi, alert: DeclineAlert) -> int:
    """Post one decline event; returns Grafana's annotation id."""
    try:
        response = api.annotations.add_annotation(**annotation_body(alert))
    except (GrafanaException, OSError) as error:
        raise AnnotationError(
            f"Grafana annotation for {alert.metric} at {alert.station_id} failed: {error}"
        ) from error
    return int(response["id"])
