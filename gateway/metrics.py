"""Prometheus metrics (``/metrics`` on ``metrics_port``) and the periodic ``gateway_stats`` points.

The Prometheus endpoint is for operators' scrapers (and the container health check); the
``gateway_stats`` points put the same health next to the data, for the fleet dashboard.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from gateway import influx_schema
from gateway.point_table import Point

log = logging.getLogger("frailwatch.gateway")


class Metrics:
    """Counters of one gateway process (own registry, so tests can run several in one process)."""

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "frailwatch_gateway_messages", "MQTT messages in, by channel/kind", ["kind"], registry=r
        )
        self.acked = Counter("frailwatch_gateway_acked", "MQTT messages acknowledged", registry=r)
        self.points = Counter("frailwatch_gateway_points_written", "points written to InfluxDB", registry=r)
        self.dead_letters = Counter(
            "frailwatch_gateway_dead_letters", "refused messages, by reason", ["reason"], registry=r
        )
        self.write_latency = Histogram(
            "frailwatch_gateway_write_seconds",
            "InfluxDB write duration",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.batch_points = Histogram(
            "frailwatch_gateway_batch_points",
            "points per InfluxDB write",
            buckets=(1, 10, 50, 100, 500, 1000, 5000, 10000, 50000),
            registry=r,
        )
        self.ingest_lag = Gauge(
            "frailwatch_gateway_ingest_lag_seconds",
            "now - measured_at of the latest written reading",
            registry=r,
        )
        self.in_flight = Gauge(
            "frailwatch_gateway_in_flight", "messages received, not yet acknowledged", registry=r
        )
        self.retries = Gauge(
            "frailwatch_gateway_write_retries", "InfluxDB write attempts retried", registry=r
        )
        self.pending_bytes = Gauge(
            "frailwatch_gateway_pending_bytes", "line protocol waiting to be written", registry=r
        )
        self.connected = Gauge("frailwatch_gateway_connected", "1 while connected to the broker", registry=r)
        self.alerts = Counter(
            "frailwatch_gateway_case_events",
            "case events published on fw/v1/alerts/cases/<station>",
            registry=r,
        )
        self.results = Counter(
            "frailwatch_gateway_visit_results",
            "visit results published on fw/v1/<station>/results",
            registry=r,
        )
        self._last = (time.monotonic(), 0.0)
        self.lag_s = 0.0
        self._lag_peak_s: float | None = None  # the worst lag written since the last stats point

    def observe_lag(self, lag_s: float) -> None:
        """Record a written message's ingest lag. The stats point reports the interval's worst,
        not whichever write came last: one old message among fresh ones must still show."""
        self.lag_s = lag_s
        self._lag_peak_s = lag_s if self._lag_peak_s is None else max(self._lag_peak_s, lag_s)

    def serve(self, host: str, port: int) -> bool:
        """Start the HTTP endpoint; False (and a log line) when the port is taken or 0."""
        if port == 0:
            return False
        try:
            start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            log.warning("metrics endpoint not started on port %d: %s", port, exc)
            return False
        log.info("metrics on http://%s:%d/metrics", host, port)
        return True

    def stats_row(self, writer_stats: dict[str, Any], in_flight: int) -> Point:
        """A gateway_stats point: rates since the previous one."""
        now = time.monotonic()
        total = _sum(self.messages)
        then, before = self._last
        self._last = (now, total)
        rate = (total - before) / (now - then) if now > then else 0.0
        peak, self._lag_peak_s = self._lag_peak_s, None  # idle: the last lag stands, as before
        fields = {
            "messages_per_s": rate,
            "messages_total": int(total),
            "points_total": int(writer_stats.get("points") or 0),
            "ingest_lag_s": self.lag_s if peak is None else peak,
            "write_latency_ms": float(writer_stats.get("last_write_s") or 0.0) * 1000,
            "write_retries": int(writer_stats.get("retries") or 0),
            "in_flight": in_flight,
            "dead_letters_total": int(_sum(self.dead_letters)),
        }
        return (
            influx_schema.GATEWAY_STATS.name,
            time.time_ns(),
            {influx_schema.GATEWAY_TAG: self.gateway},
            fields,
        )


def _sum(counter: Counter) -> float:
    total = 0.0
    for metric in counter.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                total += sample.value
    return total


class Ticker(threading.Thread):
    """Calls ``tick`` every ``interval_s`` until ``stop`` is set."""

    def __init__(self, interval_s: float, tick: Any, stop: threading.Event) -> None:
        super().__init__(name="stats", daemon=True)
        self.interval_s = interval_s
        self.tick = tick
        self.stop_event = stop

    def run(self) -> None:
        while not self.stop_event.wait(self.interval_s):
            try:
                self.tick()
            except Exception:  # stats must never take the gateway down
                log.exception("stats tick failed")
