"""The follow-up stages, in the order they run on every message (:mod:`gateway.followup` has the
interface). Each stage runs only once the previous stage's points of the same message are
durable, so it reads them back. To add or replace a stage, write its module here and list it.
"""

from __future__ import annotations

from gateway.followup import Stage
from gateway.stages.cases import CaseStage
from gateway.stages.visit_scores import VisitScoresStage


def default_stages() -> list[Stage]:
    return [VisitScoresStage(), CaseStage()]
