"""The demo's role processes (gateway, edge agents): started as an operator would, as subprocesses.

Each runs ``python -m frailwatch.cli <role> ...`` with its settings in the environment and its own
log file in the state directory, so a failure shows the role's own words.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


class RoleFailed(RuntimeError):
    """A role process exited while the demo still needed it."""


@dataclass
class RoleProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, n_bytes: int = 1500) -> str:
        try:
            return self.log_path.read_bytes()[-n_bytes:].decode("utf-8", "replace")
        except OSError:
            return ""


class Processes:
    def __init__(self, state_dir: Path) -> None:
        self.log_dir = state_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.roles: dict[str, RoleProcess] = {}

    def start(self, name: str, args: list[str], env: dict[str, str]) -> RoleProcess:
        log_path = self.log_dir / f"{name}.log"
        environment = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        # Loopback only: a proxy from the environment must never see demo traffic.
        for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
            environment.pop(proxy, None)
        environment["NO_PROXY"] = environment["no_proxy"] = "127.0.0.1,localhost"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "frailwatch.cli", *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                start_new_session=True,
            )
        role = RoleProcess(name, process, log_path)
        self.roles[name] = role
        return role

    def check_alive(self) -> None:
        for role in self.roles.values():
            code = role.process.poll()
            if code is not None:
                raise RoleFailed(f"{role.name} exited with {code}:\n{role.log_tail()}")

    def log_tails(self) -> str:
        return "\n".join(f"--- {r.name} ---\n{r.log_tail(600)}" for r in self.roles.values())

    def stop(self, name: str, timeout_s: float = 15.0) -> None:
        role = self.roles.pop(name, None)
        if role is None or role.process.poll() is not None:
            return
        role.process.send_signal(signal.SIGTERM)  # graceful: agents drain in-flight work
        try:
            role.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            role.process.kill()
            role.process.wait()

    def stop_all(self) -> None:
        # Edge agents first (they publish to the gateway's broker), the gateway last.
        for name in sorted(self.roles, key=lambda n: n.startswith("gateway")):
            self.stop(name)
