"""Case events as Grafana annotations on the participant dashboard (optional).

The participant dashboard already draws case events from InfluxDB; posting them to Grafana as well
makes them visible on every dashboard's timeline and in Grafana's annotation search. Whoever
consumes ``fw/v1/alerts/cases/#`` may call :func:`post_case_event` for an event; a failure here must
never hold anything back, so it raises :class:`AnnotationError` for the caller to log.
"""

from __future__ import annotations

from typing import Any

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaException

from telemetry.cases import CaseEvent

PARTICIPANT_DASHBOARD_UID = "frailwatch-participant"


class AnnotationError(RuntimeError):
    """Grafana refused or could not be reached; the event itself is safe in InfluxDB."""


def annotation_body(event: CaseEvent) -> dict[str, Any]:
    """What is posted: tags to filter by, a text a clinician reads; the pseudonym, never an identity.
    Placed at the triggering visit's time, so it sits on the visit in the trend panels."""
    rule = event.evidence.rule if event.evidence is not None else event.actor
    return {
        "dashboard_uid": PARTICIPANT_DASHBOARD_UID,
        "time_from": int(event.at.timestamp() * 1000),
        "tags": [
            "frailwatch",
            "case",
            event.domain.value,
            event.event.value,
            event.severity,
            event.station_id,
        ],
        "text": (
            f"{event.participant} {event.domain.value} case {event.case_id}: {event.event.value} "
            f"({event.severity}; {rule}; {event.station_id})"
        ),
    }


def post_case_event(api: GrafanaApi, event: CaseEvent) -> int:
    """Post one case event; returns Grafana's annotation id."""
    try:
        response = api.annotations.add_annotation(**annotation_body(event))
    except (GrafanaException, OSError) as error:
        raise AnnotationError(
            f"Grafana annotation for case {event.case_id} at {event.station_id} failed: {error}"
        ) from error
    return int(response["id"])
