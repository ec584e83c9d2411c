"""``frailwatch influx init``: the database and its retention policies, created idempotently.

The policies come from the one schema (:mod:`gateway.influx_schema`, architecture: "One schema"):
``RETENTION_POLICIES`` (name → duration) with ``FOREVER`` as the default RP, so clinical data
(readings, features, scores, events) is kept indefinitely; ``ops`` (90 d unless
``ops_retention`` says otherwise) holds the operational measurements the writer routes there
(heartbeats, device tallies, station status, gateway stats). ``raw`` (short: the
schema's duration, else 30 d) holds raw signals if a deployment stores them (home wearables), with
optional continuous queries that downsample a raw measurement into the default RP.

InfluxQL over the v1 API, so this works on InfluxDB 1.x. InfluxDB 2.x/3.x do not accept
``CREATE DATABASE``/``RETENTION POLICY`` statements (2.x: create a bucket per RP and a DBRP
mapping; 3.x: databases appear on first write); :func:`init_database` says so instead of failing
obscurely. Running it twice changes nothing; a changed duration or default is altered in place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.influx.influxql import identifier
from gateway.influx.transport import QueryError, V1Transport

__all__ = ["OPS_RP", "RAW_RP", "InitReport", "init_database", "parse_duration", "schema_policies"]

RAW_RP = "raw"
OPS_RP = "ops"
DEFAULT_RAW_RETENTION = "30d"  # when the schema declares no raw policy
_FALLBACK = ({"forever": "INF"}, "forever")  # only if gateway.influx_schema cannot be imported
_DURATION = re.compile(r"^(INF|(\d+(ns|u|µ|ms|s|m|h|d|w))+)$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_UNITS_NS = {
    "ns": 1,
    "u": 1_000,
    "µ": 1_000,
    "ms": 1_000_000,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
    "d": 86400 * 10**9,
    "w": 7 * 86400 * 10**9,
}


def parse_duration(text: str) -> int:
    """An InfluxQL duration (``30d``, ``1h30m``, ``INF``) in nanoseconds; INF = 0, as InfluxDB shows it."""
    value = text.strip()
    if value.upper() == "INF":
        return 0
    if not _DURATION.match(value):
        raise ValueError(f"not an InfluxQL duration: {text!r} (examples: 30d, 12h, 1w, INF)")
    return sum(int(n) * _UNITS_NS[u] for n, u in re.findall(r"(\d+)(ns|ms|u|µ|s|m|h|d|w)", value))


def _show_duration_ns(text: str) -> int:
    """SHOW RETENTION POLICIES prints durations as Go does ("720h0m0s", "0s" for INF)."""
    scale = {"h": 3600e9, "m": 60e9, "s": 1e9, "ms": 1e6, "µs": 1e3, "us": 1e3, "ns": 1.0}
    total = 0.0
    for number, unit in re.findall(r"([\d.]+)(h|ms|µs|us|ns|m|s)", text):
        total += float(number) * scale[unit]
    return round(total)


def schema_policies() -> tuple[dict[str, str], str]:
    """(name → duration, default name) as :mod:`gateway.influx_schema` declares them."""
    try:
        from gateway import influx_schema
    except ImportError:
        return dict(_FALLBACK[0]), _FALLBACK[1]
    return dict(influx_schema.RETENTION_POLICIES), str(influx_schema.FOREVER)


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a plain InfluxDB name: {name!r} (letters, digits, _ and -)")
    return identifier(name)


@dataclass
class InitReport:
    database: str
    actions: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(not a.startswith("kept") for a in self.actions)


def _retention_policies(transport: V1Transport, database: str) -> dict[str, dict[str, Any]]:
    rows = transport.execute(f"SHOW RETENTION POLICIES ON {_ident(database)}")
    return {str(r["name"]): r for r in rows}


def _ensure_rp(
    transport: V1Transport,
    database: str,
    name: str,
    duration: str,
    *,
    default: bool,
    existing: dict[str, dict[str, Any]],
    report: InitReport,
) -> None:
    wanted_ns = parse_duration(duration)
    shard = " SHARD DURATION 1d" if 0 < wanted_ns <= 60 * 86400 * 10**9 else ""
    clause = f"DURATION {duration} REPLICATION 1{shard}{' DEFAULT' if default else ''}"
    target = f"{_ident(name)} ON {_ident(database)}"
    row = existing.get(name)
    if row is None:
        transport.execute(f"CREATE RETENTION POLICY {target} {clause}")
        report.actions.append(f"created retention policy {name} ({duration}{', default' if default else ''})")
        return
    same = _show_duration_ns(str(row.get("duration", ""))) == wanted_ns and (
        not default or bool(row.get("default"))
    )
    if same:
        report.actions.append(f"kept retention policy {name} ({duration}{', default' if default else ''})")
        return
    transport.execute(f"ALTER RETENTION POLICY {target} {clause}")
    report.actions.append(f"altered retention policy {name} to {duration}{', default' if default else ''}")


def _ensure_downsample(
    transport: V1Transport, database: str, measurement: str, every: str, target_rp: str, report: InitReport
) -> None:
    """A continuous query averaging ``raw.<measurement>`` into ``<target_rp>.<measurement>_<every>``."""
    parse_duration(every)
    name = f"downsample_{measurement}_{every}"
    db = _ident(database)
    # SHOW CONTINUOUS QUERIES lists every database's; a name is only unique within one
    existing = {
        str(r.get("name"))
        for r in transport.execute("SHOW CONTINUOUS QUERIES")
        if f" ON {database} " in str(r.get("query", "")) or f" ON {db} " in str(r.get("query", ""))
    }
    if name in existing:
        report.actions.append(f"kept continuous query {name}")
        return
    transport.execute(
        f"CREATE CONTINUOUS QUERY {_ident(name)} ON {db} BEGIN "
        f"SELECT mean(*) INTO {db}.{_ident(target_rp)}.{_ident(f'{measurement}_{every}')} "
        f"FROM {db}.{_ident(RAW_RP)}.{_ident(measurement)} GROUP BY time({every}), * END"
    )
    report.actions.append(
        f"created continuous query {name} (raw.{measurement} → {target_rp}.{measurement}_{every})"
    )


def init_database(
    transport: V1Transport,
    database: str | None = None,
    *,
    raw_retention: str | None = None,
    ops_retention: str | None = None,
    downsample: tuple[str, ...] = (),
    downsample_every: str = "1m",
    policies: Mapping[str, str] | None = None,
    default_policy: str | None = None,
) -> InitReport:
    """Create (or bring up to date) the database, the schema's RPs (its default one as default) and ``raw``.

    ``policies``/``default_policy`` override the schema's (tests, other deployments);
    ``raw_retention`` and ``ops_retention`` override the ``raw`` and ``ops`` policies' durations
    (the schema's; ``ops`` must stay bounded: INF is refused).
    """
    db = database or transport.database
    report = InitReport(db)
    wanted, default = schema_policies()
    if policies is not None:
        wanted = dict(policies)
    default = default_policy or default
    if raw_retention is not None:
        wanted[RAW_RP] = raw_retention  # an explicit choice beats the schema's
    if ops_retention is not None:
        if parse_duration(ops_retention) == 0:
            raise ValueError("the ops retention policy must be bounded (e.g. 90d), not INF")
        wanted[OPS_RP] = ops_retention
    wanted.setdefault(RAW_RP, DEFAULT_RAW_RETENTION)
    if default not in wanted:
        raise ValueError(f"default retention policy {default!r} is not among {sorted(wanted)}")
    # all local checks before the first statement, so bad input changes nothing
    _ident(db)
    for name, duration in wanted.items():
        _ident(name)
        parse_duration(duration)
    parse_duration(downsample_every)
    for measurement in downsample:
        _ident(measurement)
    try:
        names = {str(r.get("name")) for r in transport.execute("SHOW DATABASES")}
        if db in names:
            report.actions.append(f"kept database {db}")
        else:
            transport.execute(f"CREATE DATABASE {_ident(db)}")
            report.actions.append(f"created database {db}")
        existing = _retention_policies(transport, db)
    except QueryError as exc:
        raise QueryError(
            f"{exc} — InfluxDB 2.x/3.x do not manage databases through InfluxQL: create a bucket "
            f"(and a DBRP mapping on 2.x) with the influx CLI instead"
        ) from None
    for name, duration in wanted.items():
        _ensure_rp(transport, db, name, duration, default=name == default, existing=existing, report=report)
    for measurement in downsample:
        _ensure_downsample(transport, db, measurement, downsample_every, default, report)
    return report
