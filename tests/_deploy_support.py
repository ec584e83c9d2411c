"""Helpers for the deployment tests: the resolved compose file and the committed broker files."""

from __future__ import annotations

import getpass
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from runtime.local_servers import Mosquitto, free_port

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DEPLOY = REPO / "deploy"
ACL_FILE = DEPLOY / "mosquitto" / "acl"
BROKER_CONF = DEPLOY / "mosquitto" / "mosquitto.conf"
MAKE_PASSWORDS = DEPLOY / "mosquitto" / "make-passwords.sh"
MAKE_CERTS = DEPLOY / "certs" / "make-certs.sh"


def docker_compose() -> str:
    path = shutil.which("docker-compose")
    if path is None:
        raise AssertionError(
            "docker-compose is not installed; run `make setup` (Debian package docker-compose)"
        )
    return path


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a .env file (comments and blanks skipped)."""
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def resolved_compose(env_file: Path, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """The compose file as docker-compose resolves it (anchors merged, variables substituted)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FW_", "MQTT_USER_", "COMPOSE_"))}
    env.update(extra_env or {})
    result = subprocess.run(
        [docker_compose(), "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


@dataclass(frozen=True)
class Mount:
    service: str
    source: str
    target: str
    kind: str  # "bind" or "volume"


def mounts(config: dict[str, Any]) -> list[Mount]:
    out: list[Mount] = []
    for name, service in config["services"].items():
        for volume in service.get("volumes", []):
            if isinstance(volume, str):
                source, target = volume.split(":")[:2]
                kind = "bind" if source.startswith(("/", ".")) else "volume"
            else:
                source, target, kind = volume["source"], volume["target"], volume["type"]
            out.append(Mount(name, source, target, kind))
    return out


def acl_users(acl_text: str) -> dict[str, list[tuple[str, str]]]:
    """``user`` blocks of a Mosquitto ACL: user → [(access, topic), ...]."""
    users: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for raw in acl_text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if words[0] == "user":
            current = users.setdefault(words[1], [])
        elif words[0] == "topic":
            assert current is not None, f"topic line before any user: {line!r}"
            access, topic = (words[1], words[2]) if len(words) == 3 else ("readwrite", words[1])
            current.append((access, topic))
        else:
            raise AssertionError(f"unexpected ACL line {line!r}")
    return users


def make_password_file(path: Path, users: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the committed make-passwords.sh with MQTT_USER_<NAME> variables, as broker-init does."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/usr/bin"}
    for user, password in users.items():
        env["MQTT_USER_" + user.upper().replace("-", "_")] = password
    return subprocess.run(
        ["sh", str(MAKE_PASSWORDS), str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class CommittedBroker(Mosquitto):
    """Mosquitto running the committed deploy/mosquitto/mosquitto.conf.

    Only what cannot be the same outside a container is rewritten: the listeners move to free
    loopback ports and the /mosquitto/... paths to this broker's directory.
    """

    def __init__(self, workdir: Path, *, password_file: Path, certs_dir: Path) -> None:
        self._password_file = password_file
        self._certs_dir = certs_dir
        self.tls_port = free_port()
        super().__init__(workdir)

    def _write_config(self) -> None:
        text = BROKER_CONF.read_text()
        text = re.sub(r"^listener 1883$", f"listener {self.port} 127.0.0.1", text, flags=re.M)
        text = re.sub(r"^listener 8883$", f"listener {self.tls_port} 127.0.0.1", text, flags=re.M)
        mapping = {
            "/mosquitto/auth/passwords": str(self._password_file),
            "/mosquitto/config/acl": str(ACL_FILE),
            "/mosquitto/certs/": f"{self._certs_dir}/",
            "/mosquitto/data/": f"{self.workdir}/",
        }
        unmapped = [p for p in re.findall(r"/mosquitto/\S*", text) if not p.startswith(tuple(mapping))]
        assert not unmapped, f"container paths in mosquitto.conf this test does not map: {unmapped}"
        for container_path, local_path in mapping.items():
            text = text.replace(container_path, local_path)
        # As root Mosquitto would switch to the 'mosquitto' user, who cannot read our temp dir.
        self.config_path.write_text(text + f"\nuser {getpass.getuser()}\n")
