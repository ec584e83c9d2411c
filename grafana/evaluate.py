"""Run dashboards' and alert rules' queries the way Grafana would, without Grafana.

Grafana replaces ``$timeFilter``, ``$interval``/``$__interval`` and template variables before a
query reaches InfluxDB, and evaluates an alert rule as query → reduce → threshold. These functions
do the same, so a query's correctness and a rule's condition can be checked against a real
InfluxDB (tests, or an operator checking a new deployment's data).

When the query returns no series with a value, or fails, the rule's ``no_data``/``exec_err``
decide, as Grafana's ``noDataState``/``execErrState`` do: ``Alerting`` fires one instance
without series labels; ``NoData``/``Error`` fire Grafana's own ``DatasourceNoData`` /
``DatasourceError`` alert; ``OK`` and ``KeepLast`` fire nothing new (KeepLast would keep a firing
state firing — a single evaluation has no earlier state to keep). A pending period applies to
these as to any firing condition.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from grafana.alerting import RuleSpec

Runner = Callable[[str], dict[str, Any]]  # InfluxQL -> InfluxDB's JSON answer


@dataclass(frozen=True)
class Variables:
    """Values Grafana would substitute: a time range (epoch ms), an interval, the selections."""

    start_ms: int
    end_ms: int
    interval: str = "1d"
    stations: tuple[str, ...] = ()
    pseudonym: str = ""


def substitute(query: str, v: Variables) -> str:
    """Grafana's InfluxQL interpolation: time filter in ms, multi-value regex as ``(a|b)``."""
    stations = "(" + "|".join(re.escape(s) for s in v.stations) + ")" if v.stations else ".*"
    replacements = {
        "$timeFilter": f"time >= {v.start_ms}ms and time <= {v.end_ms}ms",
        "$__interval": v.interval,
        "$interval": v.interval,
        "$station": stations,
        "$pseudonym": v.pseudonym,
    }
    # Longest names first, so ``$interval`` never eats the start of ``$__interval``.
    for name in sorted(replacements, key=len, reverse=True):
        query = query.replace(name, replacements[name])
    leftover = re.findall(r"\$[A-Za-z_]\w*", query)
    leftover = [name for name in leftover if not name.startswith("$tag_")]
    if leftover:
        raise ValueError(f"unsubstituted variables {leftover} in: {query}")
    return query


@dataclass(frozen=True)
class DashboardQuery:
    dashboard: str
    where: str  # "panel <title>", "variable <name>", "annotation <name>"
    query: str


def dashboard_queries(name: str, board: dict[str, Any]) -> Iterator[DashboardQuery]:
    """Every InfluxQL a dashboard's JSON sends: panel targets, variable queries, annotations."""
    for panel in board.get("panels", []):
        for target in panel.get("targets", []):
            yield DashboardQuery(name, f"panel {panel.get('title')!r}", target["query"])
    for variable in board.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            yield DashboardQuery(name, f"variable {variable['name']!r}", str(variable["query"]))
    for annotation in board.get("annotations", {}).get("list", []):
        target = annotation.get("target") or {}
        if "query" in target:
            yield DashboardQuery(name, f"annotation {annotation.get('name')!r}", target["query"])


def series(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for result in answer.get("results", []) for s in result.get("series", [])]


def non_null_values(one_series: dict[str, Any]) -> list[float]:
    """Every non-null numeric value of a series, whatever its columns (time excluded)."""
    out: list[float] = []
    for row in one_series.get("values", []):
        out.extend(float(x) for x in row[1:] if isinstance(x, (int, float)) and not isinstance(x, bool))
    return out


REDUCERS: dict[str, Callable[[list[float]], float]] = {
    "last": lambda xs: xs[-1],
    "max": max,
    "min": min,
    "mean": lambda xs: sum(xs) / len(xs),
    "sum": sum,
    "count": lambda xs: float(len(xs)),
}


@dataclass(frozen=True)
class Instance:
    """One alert instance: the series' tags (Grafana's labels), the reduced value, the state;
    ``reason`` is ``NoData`` or ``Error`` when the rule's no-data or error state decided it."""

    labels: dict[str, str]
    value: float
    firing: bool
    reason: str = ""


_DATASOURCE_ALERTS = {"NoData": "DatasourceNoData", "Error": "DatasourceError"}


def _special(setting: str, reason: str) -> list[Instance]:
    """The instance Grafana makes when the query gave no data (``NoData``) or failed (``Error``)."""
    if setting == "Alerting":
        return [Instance({}, math.nan, True, reason)]
    if setting == reason:  # noDataState NoData / execErrState Error: Grafana's own alert fires
        return [Instance({"alertname": _DATASOURCE_ALERTS[reason]}, math.nan, True, reason)]
    return [Instance({}, math.nan, False, reason)]  # OK / KeepLast: nothing new fires


def _evaluate_once(spec: RuleSpec, run: Runner, at_ms: int) -> list[Instance]:
    query = substitute(spec.query, Variables(start_ms=at_ms - spec.range_s * 1000, end_ms=at_ms))
    try:
        answer = run(query)
    except Exception:  # InfluxDB down, refusing or timing out: Grafana's execution error
        return _special(spec.exec_err, "Error")
    if "error" in answer or any("error" in result for result in answer.get("results", [])):
        return _special(spec.exec_err, "Error")
    instances = []
    for one in series(answer):
        values = non_null_values(one)
        if not values:
            continue  # dropNN leaves nothing: no data for this series, not a firing alert
        value = REDUCERS[spec.reducer](values)
        instances.append(Instance(dict(one.get("tags", {})), value, spec.fires(value)))
    return instances or _special(spec.no_data, "NoData")


def pending_seconds(pending: str) -> int:
    """Grafana's ``for`` (``0s``, ``2m``, ``10m``, ``1h``) in seconds."""
    match = re.fullmatch(r"(\d+)([smh])", pending)
    if not match:
        raise ValueError(f"unsupported pending period {pending!r}")
    return int(match[1]) * {"s": 1, "m": 60, "h": 3600}[match[2]]


def evaluate_rule(spec: RuleSpec, run: Runner, now_ms: int, every_s: int = 60) -> list[Instance]:
    """Query A, reduce B per series (nulls dropped), threshold C, as Grafana's scheduler would.

    With a pending period (``for``), Grafana evaluates every ``every_s`` seconds and an instance
    fires only once its condition has held for the whole period; the evaluations inside that
    window are replayed here, each over its own time range.
    """
    current = _evaluate_once(spec, run, now_ms)
    steps = pending_seconds(spec.pending) // every_s
    held = {tuple(sorted(i.labels.items())) for i in current if i.firing}
    for step in range(1, steps + 1):
        earlier = _evaluate_once(spec, run, now_ms - step * every_s * 1000)
        held &= {tuple(sorted(i.labels.items())) for i in earlier if i.firing}
    return [
        Instance(i.labels, i.value, i.firing and tuple(sorted(i.labels.items())) in held, i.reason)
        for i in current
    ]
