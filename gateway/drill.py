"""A crash at a named follow-up boundary, once: the stage-boundary drill's fault (as ``kill -9``).

Set only by the drill (``FRAILWATCH_GATEWAY_DRILL_CRASH_AT`` with a marker file): the process
exits at once, without flushing or acknowledging, the first time a message reaches the boundary —
``before:<stage name>`` (the message's earlier work durable, this stage not begun) or
``before:ack`` (every stage durable, the acknowledgement and receipt not sent). The marker file
makes it once across restarts, so the restarted replica can finish the redelivered message.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("frailwatch.gateway")
CRASH_EXIT = 137  # what a shell reports for a process killed by SIGKILL


@dataclass(frozen=True)
class CrashPoint:
    at: str
    marker: Path

    def reached(self, boundary: str) -> None:
        if boundary != self.at or self.marker.exists():
            return
        self.marker.write_text(boundary)
        log.error("drill: crashing at %s", boundary)
        os._exit(CRASH_EXIT)
