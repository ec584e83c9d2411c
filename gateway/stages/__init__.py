"""The follow-up stages, in the order they run (:mod:`gateway.followup` has the interface). Each
stage runs only once the previous stage's points of the same message are durable, so it reads
them back; a stage that applies to none of a message's items is passed over. To add or replace a
stage, write its module here and list it.

Device messages of a scoring kind: visit scores → decline cases → the visit's result for the
station. A station's case action: the case-action checks and append.
"""

from __future__ import annotations

from gateway.followup import Stage
from gateway.settings import GatewaySettings
from gateway.stages.case_actions import CaseActionStage
from gateway.stages.cases import CaseStage
from gateway.stages.visit_result import VisitResultStage
from gateway.stages.visit_scores import VisitScoresStage
from gateway.visit_calendar import VisitCalendar
from processing.cases import DetectorSettings


def default_stages(settings: GatewaySettings | None = None) -> list[Stage]:
    s = settings or GatewaySettings()
    calendar = VisitCalendar(s.visit_timezone, dict(s.station_timezones), s.pre_visit_window_h * 3600)
    return [
        VisitScoresStage(tug_fall_risk_s=s.tug_fall_risk_s, calendar=calendar),
        CaseStage(settings=DetectorSettings(tug_fall_risk_s=s.tug_fall_risk_s)),
        VisitResultStage(tug_fall_risk_s=s.tug_fall_risk_s, calendar=calendar),
        CaseActionStage(clock_skew_s=s.case_action_clock_skew_s),
    ]
