"""Private Mosquitto and InfluxDB servers on free loopback ports, for tests, the demo and benchmarks.

Each server lives in its own directory (config, data, log) and listens on 127.0.0.1 only. They
are real servers from the Debian packages ``mosquitto`` and ``influxdb`` (1.x); nothing is mocked.
Start, stop, restart and kill are here because the reliability drills need them.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Loopback servers only: never route through a proxy from the environment.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServiceError(RuntimeError):
    """A local server could not be found, started or reached."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def require_binary(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin")
    if path is None:
        raise ServiceError(f"{name} is not installed; run `make setup` (apt-get install mosquitto influxdb)")
    return path


class _Process:
    """A server subprocess with its log file; start/stop/kill/restart."""

    name = "server"

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / f"{self.name}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, timeout_s: float = 20.0) -> None:
        if self.running:
            return
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            self._command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ServiceError(f"{self.name} exited with {self._proc.returncode}: {self.log_tail()}")
            if self._ready():
                return
            time.sleep(0.05)
        self.kill()
        raise ServiceError(f"{self.name} not ready after {timeout_s} s: {self.log_tail()}")

    def stop(self, timeout_s: float = 10.0) -> None:
        """Graceful stop (SIGTERM), then SIGKILL if it lingers."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def kill(self) -> None:
        """Crash it (SIGKILL): what a power cut or OOM kill does."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, n_bytes: int = 2000) -> str:
        try:
            return self.log_path.read_bytes()[-n_bytes:].decode("utf-8", "replace")
        except OSError:
            return ""

    def __enter__(self) -> _Process:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class TlsListener:
    """A TLS listener: CA, server certificate and key (PEM paths)."""

    cafile: Path
    certfile: Path
    keyfile: Path
    port: int = field(default_factory=free_port)
    require_certificate: bool = False


class Mosquitto(_Process):
    """A private Mosquitto 2 broker.

    ``users`` (name → password) turns off anonymous access; ``acl`` is the text of an ACL file.
    ``max_queued_messages`` is sized far above Mosquitto's default of 1000, which silently drops
    QoS 1 messages for a slow subscriber (architecture: "Known traps").
    """

    name = "mosquitto"

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        *,
        users: dict[str, str] | None = None,
        acl: str | None = None,
        tls: TlsListener | None = None,
        max_queued_messages: int = 1_000_000,
        max_inflight_messages: int = 0,
        persistence: bool = True,
        extra_config: str = "",
    ) -> None:
        super().__init__(workdir)
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.users = users
        self.acl = acl
        self.tls = tls
        self.max_queued_messages = max_queued_messages
        self.max_inflight_messages = max_inflight_messages
        self.persistence = persistence
        self.extra_config = extra_config
        self.config_path = self.workdir / "mosquitto.conf"
        self._write_config()

    def _write_config(self) -> None:
        lines = [
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'false' if self.users else 'true'}",
            # Run as whoever starts us; as root Mosquitto would switch to the 'mosquitto' user,
            # which cannot read a temp dir owned by root.
            f"user {getpass.getuser()}",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.workdir}/",
            "autosave_interval 1",
            f"max_queued_messages {self.max_queued_messages}",
            "max_queued_bytes 0",
            f"max_inflight_messages {self.max_inflight_messages}",
            "max_packet_size 33554432",
            "message_size_limit 0",
            "log_dest stdout",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "connection_messages true",
            "log_timestamp true",
        ]
        if self.users:
            password_file = self.workdir / "passwords"
            password_file.write_text("")
            passwd = require_binary("mosquitto_passwd")
            for user, password in self.users.items():
                subprocess.run([passwd, "-b", str(password_file), user, password], check=True)
            os.chmod(password_file, 0o600)
            lines.append(f"password_file {password_file}")
        if self.acl is not None:
            acl_file = self.workdir / "acl"
            acl_file.write_text(self.acl)
            os.chmod(acl_file, 0o600)
            lines.append(f"acl_file {acl_file}")
        if self.tls is not None:
            lines += [
                f"listener {self.tls.port} {self.host}",
                f"cafile {self.tls.cafile}",
                f"certfile {self.tls.certfile}",
                f"keyfile {self.tls.keyfile}",
                f"require_certificate {'true' if self.tls.require_certificate else 'false'}",
            ]
            # password_file, acl_file and allow_anonymous above are global (per_listener_settings
            # is false), so they already cover this listener; Mosquitto refuses them twice.
        if self.extra_config:
            lines.append(self.extra_config)
        self.config_path.write_text("\n".join(lines) + "\n")

    def _command(self) -> list[str]:
        return [require_binary("mosquitto"), "-c", str(self.config_path)]

    def _ready(self) -> bool:
        return _port_open(self.host, self.port)

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


class InfluxDB(_Process):
    """A private InfluxDB 1.x server (Debian's ``influxdb``) speaking the v1 HTTP API."""

    name = "influxd"

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        super().__init__(workdir)
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.rpc_port = free_port()
        self.config_path = self.workdir / "influxdb.conf"
        self._write_config()

    def _write_config(self) -> None:
        data = self.workdir / "data"
        self.config_path.write_text(
            f"""reporting-disabled = true
bind-address = "{self.host}:{self.rpc_port}"

[meta]
  dir = "{data}/meta"

[data]
  dir = "{data}/data"
  wal-dir = "{data}/wal"
  query-log-enabled = false
  trace-logging-enabled = false
  index-version = "tsi1"
  max-series-per-database = 0
  max-values-per-tag = 0

[coordinator]
  query-timeout = "60s"

[http]
  enabled = true
  bind-address = "{self.host}:{self.port}"
  log-enabled = false
  max-body-size = 0
  flux-enabled = false

[logging]
  level = "warn"
  suppress-logo = true

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = true
  log-enabled = false
"""
        )

    def _command(self) -> list[str]:
        return [require_binary("influxd"), "-config", str(self.config_path)]

    def _ready(self) -> bool:
        try:
            with _HTTP.open(f"{self.url}/ping", timeout=0.5) as response:
                return bool(response.status == 204)
        except (urllib.error.URLError, OSError):
            return False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # A minimal v1 client for tests and set-up; the gateway has its own batched writer.
    def query(self, q: str, db: str | None = None, method: str = "GET") -> dict[str, Any]:
        """Run InfluxQL; returns the decoded JSON. Raises ServiceError on an error answer."""
        params = {"q": q, "epoch": "ns"}
        if db:
            params["db"] = db
        body = urllib.parse.urlencode(params).encode()
        if method == "GET":
            request = urllib.request.Request(f"{self.url}/query?{body.decode()}")
        else:
            request = urllib.request.Request(f"{self.url}/query", data=body, method="POST")
        try:
            with _HTTP.open(request, timeout=30) as response:
                result: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise ServiceError(f"query failed ({exc.code}): {exc.read()[:500]!r}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ServiceError(f"InfluxDB at {self.url} unreachable: {exc}") from None
        for statement in result.get("results", []):
            if "error" in statement:
                raise ServiceError(f"query error: {statement['error']}")
        return result

    def write(self, lines: str | bytes, db: str, precision: str = "ns", rp: str | None = None) -> None:
        """Write line protocol (into retention policy ``rp``, else the default); raises
        ServiceError with InfluxDB's message on failure."""
        data = lines.encode() if isinstance(lines, str) else lines
        params = {"db": db, "precision": precision, **({"rp": rp} if rp else {})}
        url = f"{self.url}/write?" + urllib.parse.urlencode(params)
        request = urllib.request.Request(url, data=data, method="POST")
        try:
            with _HTTP.open(request, timeout=30) as response:
                if response.status != 204:
                    raise ServiceError(f"write answered {response.status}")
        except urllib.error.HTTPError as exc:
            raise ServiceError(f"write failed ({exc.code}): {exc.read()[:500]!r}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ServiceError(f"InfluxDB at {self.url} unreachable: {exc}") from None

    def create_database(self, db: str) -> None:
        self.query(f'CREATE DATABASE "{db}"', method="POST")

    def init_frailwatch(self, db: str) -> None:
        """The database with the schema's retention policies, exactly as ``frailwatch influx
        init`` makes it (operational measurements are written to their own ``ops`` policy, which
        must exist)."""
        from gateway.influx.init import init_database
        from gateway.influx.transport import V1Transport

        transport = V1Transport(self.url, db)
        try:
            init_database(transport)
        finally:
            transport.close()

    def everywhere(self, db: str) -> list[str]:
        """``"policy"."measurement"`` for every measurement in every retention policy of ``db``
        (a bare measurement name reads the default policy only): what a full scan must read."""
        policies = [str(r["name"]) for r in self.rows(f'SHOW RETENTION POLICIES ON "{db}"', db)]
        names = [str(r["name"]) for r in self.rows("SHOW MEASUREMENTS", db)]
        return [f'"{p}"."{m}"' for p in policies for m in names]

    def rows(self, q: str, db: str) -> list[dict[str, Any]]:
        """Query result as a list of row dicts (tags merged in), all series together."""
        out: list[dict[str, Any]] = []
        for statement in self.query(q, db).get("results", []):
            for series in statement.get("series", []):
                columns = series["columns"]
                tags = series.get("tags", {})
                for values in series.get("values", []):  # a series can come back with columns but no values
                    row = dict(zip(columns, values, strict=True))
                    row.update(tags)
                    out.append(row)
        return out
