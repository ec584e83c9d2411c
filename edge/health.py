"""The agent's health, for a container health check: a small status file and its judge.

The agent (:mod:`edge.agent`) rewrites ``<spool_dir>/status.json`` from its run loop every
:func:`status_every_s` seconds — atomically, a temporary file renamed over the old one, so a
reader never sees half a file — and once more when it stops (``running: false``).
``frailwatch edge health`` reads it; no port, no extra thread, nothing else on the station box.

Healthy means the agent's loop is alive (the file is fresh: at most ``max_age_s`` old, written
by a running agent) and it is subscribed at the station broker (devices' readings are taken in).
An uplink outage is *not* unhealthy: spooling through one is the agent's job, and restarting it
would not bring the central broker back; the status line says so, and heartbeats, the spool
alerts and the station-offline alert report it centrally.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

STATUS_FILE = "status.json"
MAX_AGE_S = 30.0  # default for `frailwatch edge health`: six missed rewrites at the default pace


class AgentStatus(BaseModel):
    """What the agent says about itself (no participant data: counts and states only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    station_id: str
    at: AwareDatetime
    pid: int
    running: bool
    device_ready: bool  # subscribed at the station broker
    uplink_connected: bool
    spool_depth: int
    oldest_spooled_age_s: float
    agent_version: str


def status_every_s(heartbeat_s: float) -> float:
    """How often the agent rewrites its status: every 5 s, or each heartbeat if they are faster."""
    return min(5.0, heartbeat_s)


def status_path(spool_dir: Path) -> Path:
    return spool_dir / STATUS_FILE


def write_status(path: Path, status: AgentStatus) -> None:
    """Replace the status file atomically (temporary file in the same directory, then rename)."""
    fd, tmp = tempfile.mkstemp(prefix=".status-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(status.model_dump_json())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def judge(path: Path, max_age_s: float = MAX_AGE_S, now: datetime | None = None) -> tuple[bool, str]:
    """(healthy, one line saying why) from the status file at ``path``."""
    try:
        status = AgentStatus.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return False, f"no status file {path}: the agent has not started (or uses another spool_dir)"
    except (OSError, ValidationError) as exc:
        return False, f"unreadable status file {path}: {type(exc).__name__}"
    age = ((now or datetime.now(UTC)) - status.at).total_seconds()
    uplink = "uplink connected" if status.uplink_connected else "uplink down (spooling)"
    spool = f"spool {status.spool_depth} (oldest {status.oldest_spooled_age_s:.0f} s)"
    facts = f"station {status.station_id}, {uplink}, {spool}, status {age:.0f} s old"
    if not status.running:
        return False, f"unhealthy: the agent stopped; {facts}"
    if age > max_age_s:
        return (
            False,
            f"unhealthy: no status for {age:.0f} s (> {max_age_s:g} s): the agent is hung or dead; {facts}",
        )
    if not status.device_ready:
        return False, f"unhealthy: not subscribed at the station broker (readings are not taken in); {facts}"
    return True, f"healthy: {facts}"
