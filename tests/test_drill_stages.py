"""Drill: the gateway dies at each follow-up boundary of a message that opens a decline case.

A participant's steady grip over four visits, then two much weaker ones: the sixth visit's message
opens a strength case. A replica configured to crash (``os._exit``, as ``kill -9``) at one boundary
— before the visit scores, before the cases, before the visit result, before the acknowledgement —
dies on that message; a replica with the same client id then gets it redelivered and finishes.

Whatever the boundary: the visit's score point is there, the case is opened exactly once (one
event id, one point per event id: no event lost, none doubled), the station got the visit's result,
and every reading is stored once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from runtime.local_servers import InfluxDB, Mosquitto
from telemetry import decode_as, encode, topics
from telemetry.cases import CaseEvent
from telemetry.devices import GripTrial, Hand
from telemetry.examples import example_messages
from telemetry.results import VisitResult
from tests._drill_support import wait_until
from tests._gateway_support import Central, start_central

pytestmark = pytest.mark.drill
NOW = datetime.now(UTC).replace(microsecond=0)
STRONG, WEAK = 40.0, 21.0


@pytest.fixture
def central(
    mosquitto_factory: Callable[..., Mosquitto], influxdb_server: InfluxDB, tmp_path: Path
) -> Iterator[Central]:
    c = start_central(mosquitto_factory, influxdb_server, tmp_path)
    yield c
    c.close()
    influxdb_server.query(f'DROP DATABASE "{c.database}"', method="POST")


def _grip(n: int, days_ago: int, kg: float) -> tuple[str, bytes]:
    base: Any = example_messages()["grip"]  # type: ignore[index]
    message = base.model_copy(
        update={
            "measured_at": NOW - timedelta(days=days_ago),
            "visit_id": f"visit-drill-{n:02d}",
            "message_id": f"drill-grip-{n:04d}",
            "payload": base.payload.model_copy(update={"trials": [GripTrial(hand=Hand.RIGHT, force_kg=kg)]}),
        }
    )
    return f"fw/v1/{message.station_id}/data/grip/{message.device_id}", encode(message)


@pytest.mark.parametrize(
    "boundary", ["before:visit scores", "before:cases", "before:visit result", "before:ack"]
)
def test_a_crash_at_any_stage_boundary_loses_and_doubles_no_case_event(
    boundary: str, central: Central, tmp_path: Path
) -> None:
    history = [_grip(n, 150 - 30 * n, STRONG) for n in range(4)] + [_grip(4, 30, 22.0)]
    opening = _grip(5, 0, WEAK)
    steady = central.gateway(client_id="gw-drill")
    central.wait_subscribed()
    edge = central.edge()
    edge.send(history)
    edge.close()
    assert wait_until(lambda: central.count("frailty", "inputs") == len(history), 30), central.logs()
    assert steady.stop() == 0
    assert central.rows('SELECT "event_id" FROM "case_event"') == [], "no case before the weak visits"

    marker = tmp_path / f"crashed-{boundary.replace(' ', '-').replace(':', '-')}"
    crashing = central.gateway(
        client_id="gw-drill", drill_crash_at=boundary, drill_crash_marker=str(marker)
    )  # same client id: the same persistent session
    central.wait_subscribed()
    edge = central.edge()
    edge.send([opening])
    edge.close()
    assert wait_until(lambda: not crashing.alive, 30), crashing.log()[-2000:]
    assert marker.exists(), "it crashed at the boundary, not elsewhere"
    central.gateway(client_id="gw-drill")  # the broker redelivers the unacknowledged message
    assert wait_until(lambda: central.count("frailty", "inputs") == len(history) + 1, 30), central.logs()

    def opened() -> list[dict[str, Any]]:
        return central.rows(
            'SELECT "event_id", "case_id", "domain" FROM "case_event" WHERE "event" = \'opened\''
        )

    def results() -> set[str | None]:
        return {
            decode_as(VisitResult, m.payload).visit_id
            for m in central.capture.on(lambda m: m.topic == topics.results("gj-01"))
        }

    # The restarted replica has finished the redelivered message once the station got its result
    # (the last stage; InfluxDB may hold the earlier stages' points from before the crash).
    assert wait_until(lambda: "visit-drill-05" in results(), 60), central.logs()
    time.sleep(2.0)  # room for a stray second copy
    rows = central.rows('SELECT "event_id", "domain", "event" FROM "case_event"')
    assert len(rows) == len({r["event_id"] for r in rows}), f"an event stored twice: {rows}"
    assert [r["domain"] for r in opened()] == ["strength"]
    assert central.count("grip", "message_id") == len(history) + 1
    # The broker carried the case's events, each at least once.
    published = {
        decode_as(CaseEvent, m.payload).event_id
        for m in central.capture.on(lambda m: m.topic.startswith(f"{topics.ROOT}/alerts/cases/"))
    }
    assert published == {r["event_id"] for r in rows}
