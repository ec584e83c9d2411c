"""Point identity of what the gateway derives rather than copies (real Mosquitto + InfluxDB):
decline events of visit scores fall when the visit happens."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from frailwatch.services import InfluxDB, Mosquitto
from telemetry import encode
from telemetry.examples import example_messages
from tests._drill_support import wait_until
from tests._gateway_support import Central, start_central

pytestmark = pytest.mark.drill
RULE_WINDOW_NS = 15 * 60 * 10**9  # grafana/alerting.py "new decline event": the last 15 minutes


@pytest.fixture
def central(
    mosquitto_factory: Callable[..., Mosquitto], influxdb_server: InfluxDB, tmp_path: Path
) -> Iterator[Central]:
    c = start_central(mosquitto_factory, influxdb_server, tmp_path)
    yield c
    c.close()
    influxdb_server.query(f'DROP DATABASE "{c.database}"', method="POST")


def _questionnaire(at: datetime, visit: str, frail: bool, n: int) -> tuple[str, bytes]:
    message: Any = example_messages()["questionnaire"]  # type: ignore[index]
    payload = message.payload.model_copy(
        update={
            "fatigue": frail,
            "resistance": frail,
            "ambulation": frail,
            "illness_count": 6 if frail else 0,
            "weight_loss_pct_year": 8.0 if frail else 0.0,
        }
    )
    message = message.model_copy(
        update={
            "measured_at": at,
            "visit_id": visit,
            "message_id": f"example-questionnaire-{n:04d}",
            "payload": payload,
        }
    )
    return f"fw/v1/{message.station_id}/data/questionnaire/{message.device_id}", encode(message)


def test_visit_score_decline_events_are_stamped_now_and_a_redelivery_overwrites(central: Central) -> None:
    central.gateway()
    central.wait_subscribed()
    now = datetime.now(UTC).replace(microsecond=0)
    # A robust visit a month ago, then a frail one now (this hour, whatever the time of day).
    before = _questionnaire(now - timedelta(days=30), "visit-then", frail=False, n=1)
    current = _questionnaire(now - timedelta(seconds=20), "visit-now", frail=True, n=2)
    edge = central.edge()
    edge.send([before])
    assert wait_until(lambda: central.count("frailty", "inputs") == 1, 20), central.logs()
    edge.close()
    edge = central.edge()
    edge.send([current])
    edge.close()
    query = 'SELECT "change", "metric" FROM "decline_event"'
    assert wait_until(
        lambda: {"kfrail_score", "frailty_level"} <= {r["metric"] for r in central.rows(query)}, 20
    )
    time.sleep(1.0)
    events = central.rows(query)
    latest_input_ns = int(now.timestamp() - 20) * 10**9
    for event in events:
        # At the visit's input (± the id hash's nanoseconds), not at the start of its UTC day.
        assert abs(int(event["time"]) - latest_input_ns) < 10**6, event
        assert time.time_ns() - int(event["time"]) < RULE_WINDOW_NS
    # The same message again (a redelivery): the same events, no second copy.
    edge = central.edge()
    edge.send([current])
    edge.close()
    time.sleep(2.0)
    assert central.rows(query) == events
    assert central.count("frailty", "inputs") == 2
