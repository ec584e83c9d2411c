"""Which visit a measurement belongs to: the station's local day, and the pre-visit questionnaire.

A visit is one participant's measurements with the same ``visit_id`` (or, without an id, all of
one day's) on the *station's local day* — Korea's day begins at 15:00 UTC, so grouping by the UTC
day split every morning visit from its afternoon. A questionnaire filled in before the visit
(at home, or the evening before) joins it when it comes within ``pre_visit_s`` (default a day)
before the visit's day: the visit's day is that of its measurements, not of the questionnaire.

Stations' zones come from the gateway's settings (``visit_timezone``, ``station_timezones``), so
every replica groups alike without state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from gateway.influx_schema import id_offset_ns

DAY_NS = 86_400 * 10**9
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True)
class VisitCalendar:
    """The stations' days: a default zone, per-station zones, and the pre-visit window."""

    default_zone: str = "Asia/Seoul"
    station_zones: Mapping[str, str] = field(default_factory=dict)
    pre_visit_s: float = 86_400.0

    def zone(self, station_id: str) -> ZoneInfo:
        return _zone(self.station_zones.get(station_id, self.default_zone))

    def day_start_ns(self, station_id: str, at_ns: int) -> int:
        """Start (UTC ns) of the station's local day containing ``at_ns``."""
        zone = self.zone(station_id)
        local = (_EPOCH + timedelta(microseconds=at_ns // 1000)).astimezone(zone)
        midnight = datetime(local.year, local.month, local.day, tzinfo=zone)
        return _ns(midnight)

    def local_date(self, station_id: str, day_start_ns: int) -> date:
        return (
            (_EPOCH + timedelta(microseconds=day_start_ns // 1000)).astimezone(self.zone(station_id)).date()
        )

    def next_day_ns(self, station_id: str, day_start_ns: int) -> int:
        """Start of the following local day (23 or 25 hours later across a DST change)."""
        return self.day_start_ns(station_id, day_start_ns + DAY_NS + 3 * 3600 * 10**9)

    @property
    def pre_visit_ns(self) -> int:
        return int(self.pre_visit_s * 1e9)


def visit_time_ns(day_start_ns: int, visit_id: str | None) -> int:
    """The visit's score point time: the start of its local day (+ hash(visit_id) ns with an id)."""
    return day_start_ns + (id_offset_ns(visit_id) if visit_id else 0)


def _ns(at: datetime) -> int:
    delta = at.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000
