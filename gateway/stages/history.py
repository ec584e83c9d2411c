"""A participant's values of one decline metric, read back from InfluxDB (all stations).

:func:`history_statement` selects the metric's field (aliased ``value``) and the station of
every point of one participant, optionally of one gait ``source``; :func:`observations` turns
the statement's rows into :class:`processing.decline.Observation` s. The statements of many
participants go to InfluxDB in one request (:meth:`gateway.influx.reader.InfluxReader.query_many`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway import schema
from gateway.influx.reader import Row, literal
from processing.decline import Observation

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def at_of(time_ns: int) -> datetime:
    """A point time as an Observation time. Sub-microsecond id hashes are dropped, so the value's
    own point (already written) has exactly the new observation's time and the rules ignore it."""
    return _EPOCH + timedelta(microseconds=time_ns // 1000)


def history_statement(participant: str, metric: str, source: str | None = None) -> str:
    """Every value of ``metric`` (a :data:`gateway.schema.DECLINE_METRICS` name) of ``participant``."""
    measurement, field = schema.DECLINE_METRICS[metric]
    where = f'"{schema.PARTICIPANT_TAG}" = {literal(participant)}'
    if source is not None and measurement == schema.GAIT_FEATURES.name:
        where += f' AND "source" = {literal(source)}'
    return f'SELECT "{field}" AS "value", "{schema.STATION_TAG}" FROM "{measurement}" WHERE {where}'


def observations(rows: list[Row]) -> list[Observation]:
    """The rows of a :func:`history_statement` as observations, oldest first."""
    return [
        Observation(
            at=at_of(int(row["time"])),
            station_id=str(row.get(schema.STATION_TAG) or "unknown"),
            value=float(row["value"]),
        )
        for row in rows
        if row.get("value") is not None
    ]
