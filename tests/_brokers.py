"""Real Mosquitto brokers made on demand in one directory, all stopped together — the
``mosquitto_factory`` fixture, and module-scoped stacks that cannot use a per-test fixture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runtime.local_servers import Mosquitto


class Brokers:
    """Call to start a broker (``Mosquitto`` keyword arguments pass through); :meth:`kill` stops all."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.made: list[Mosquitto] = []

    def __call__(self, name: str = "broker", **kwargs: Any) -> Mosquitto:
        broker = Mosquitto(self.workdir / f"mosquitto-{name}-{len(self.made)}", **kwargs)
        self.made.append(broker)
        broker.start()
        return broker

    def kill(self) -> None:
        for broker in self.made:
            broker.kill()
