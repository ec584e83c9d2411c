"""The station box for the station-page benchmarks: an edge agent with its page and one staff
account, in this process, on the given brokers."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from edge.agent import EdgeAgent
from edge.page.accounts import Accounts
from edge.settings import EdgeSettings
from runtime.local_servers import Mosquitto, free_port

KEY = "benchmark-key-0123456789abcdef"
STAFF = ("bench.staff", "benchmark password")


def start_station_agent(
    station: str, devices: Mosquitto, central: Mosquitto, workdir: Path
) -> tuple[EdgeAgent, int]:
    """The running agent and its page's port, once it takes device readings, hears its results
    downlink and serves the page."""
    port = free_port()
    settings = EdgeSettings.model_validate(
        {
            "station_id": station,
            "device_mqtt_port": devices.port,
            "uplink_port": central.port,
            "pseudonym_key": KEY,
            "spool_dir": workdir / "spool",
            "page_enabled": True,
            "page_port": port,
            "drain_s": 1,
        }
    )
    accounts = Accounts(settings.spool_dir / "staff.sqlite3")
    accounts.add(*STAFF)
    accounts.close()
    agent = EdgeAgent(settings)
    threading.Thread(target=agent.run, daemon=True).start()
    while not (agent.device_ready.is_set() and agent.downlink.subscribed.is_set() and agent.page is not None):
        time.sleep(0.05)
    return agent, port
