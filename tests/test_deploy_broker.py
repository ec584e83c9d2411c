"""The committed broker files on a real Mosquitto: config, hashed passwords, ACL and TLS.

The broker runs deploy/mosquitto/mosquitto.conf as committed (only listener ports and container
paths are mapped), with the password file made by make-passwords.sh and certificates made by
make-certs.sh. mosquitto_pub/mosquitto_sub are the independent clients.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _deploy_support import MAKE_CERTS, CommittedBroker, make_password_file

from runtime.local_servers import require_binary

USERS = {
    "gateway": "gw-secret-1",
    "ops": "ops-secret-2",
    "healthcheck": "hc-secret-3",
    "gwangsan-01": "st-secret-4",
    "nam-01": "st-secret-5",
    "buk-01": "st-secret-6",
}
MESSAGE = ("-t", "fw/v1/nam-01/heartbeat", "-m", "x")


@dataclass
class Stack:
    broker: CommittedBroker
    certs: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("deploy-broker")
    certs = base / "certs"
    subprocess.run(["bash", str(MAKE_CERTS), str(certs)], check=True, capture_output=True, timeout=120)
    passwords = base / "passwords"
    result = make_password_file(passwords, USERS)
    assert result.returncode == 0, result.stderr
    broker = CommittedBroker(base / "broker", password_file=passwords, certs_dir=certs)
    broker.start()
    yield Stack(broker, certs)
    broker.stop()


def pub(
    stack: Stack, user: str, topic: str, message: str, *, password: str | None = None, tls: bool = False
) -> subprocess.CompletedProcess[str]:
    args = [require_binary("mosquitto_pub"), "-q", "1", "-t", topic, "-m", message, "-u", user]
    args += ["-P", USERS[user] if password is None else password]
    if tls:
        args += ["-h", "localhost", "-p", str(stack.broker.tls_port), "--cafile", str(stack.certs / "ca.crt")]
    else:
        args += ["-h", "127.0.0.1", "-p", str(stack.broker.port)]
    return subprocess.run(args, capture_output=True, text=True, timeout=20, check=False)


class Subscriber:
    """mosquitto_sub in the background, printing 'topic payload' lines."""

    def __init__(self, stack: Stack, user: str, topic: str, count: int, *, version: str = "mqttv5") -> None:
        args = [require_binary("mosquitto_sub"), "-h", "127.0.0.1", "-p", str(stack.broker.port)]
        args += ["-u", user, "-P", USERS[user], "-t", topic, "-v", "-q", "1", "-C", str(count), "-W", "10"]
        args += ["-V", version]
        # Output to a file, so a test can watch deliveries arrive before it stops the subscriber.
        self.out = tempfile.NamedTemporaryFile("w+", suffix=".lines")  # noqa: SIM115 (closed in lines())
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)  # let it subscribe before anyone publishes

    def received(self) -> int:
        return len(Path(self.out.name).read_text().splitlines())

    def lines(self) -> list[str]:
        _, err = self.proc.communicate(timeout=20)
        assert "not authori" not in err.lower(), err
        lines = Path(self.out.name).read_text().splitlines()
        self.out.close()
        return lines


def test_committed_config_starts_mosquitto_without_anonymous_access(stack: Stack) -> None:
    result = subprocess.run(
        [require_binary("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(stack.broker.port), *MESSAGE],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode != 0
    assert "not authori" in (result.stdout + result.stderr).lower()


def test_a_wrong_password_is_refused(stack: Stack) -> None:
    result = pub(stack, "nam-01", "fw/v1/nam-01/heartbeat", "x", password="not-the-password")
    assert result.returncode != 0


def test_station_publishes_only_under_its_own_prefix(stack: Stack) -> None:
    ops = Subscriber(stack, "ops", "fw/v1/#", count=2)
    assert pub(stack, "nam-01", "fw/v1/nam-01/data/grip/dyn-1", "own").returncode == 0
    # Forbidden publishes are dropped silently under MQTT 3.1.1 (architecture: "Known traps").
    pub(stack, "nam-01", "fw/v1/buk-01/data/grip/dyn-1", "impersonation")
    pub(stack, "nam-01", "fw/v1/alerts/decline/buk-01", "forged-alert")
    pub(stack, "ops", "fw/v1/buk-01/data/grip/dyn-1", "ops-may-not-write")
    assert pub(stack, "buk-01", "fw/v1/buk-01/heartbeat", "marker").returncode == 0
    assert ops.lines() == ["fw/v1/nam-01/data/grip/dyn-1 own", "fw/v1/buk-01/heartbeat marker"]


def test_gateways_share_one_subscription(stack: Stack) -> None:
    """Two gateway clients in group 'gateway' split the data between them; each message once."""
    first = Subscriber(stack, "gateway", "$share/gateway/fw/v1/+/data/#", count=10)
    second = Subscriber(stack, "gateway", "$share/gateway/fw/v1/+/data/#", count=10)
    sent = [f"fw/v1/gwangsan-01/data/vitals/bp-1 m{i}" for i in range(10)]
    for line in sent:
        topic, message = line.split(" ")
        assert pub(stack, "gwangsan-01", topic, message).returncode == 0
    first.proc.terminate()
    second.proc.terminate()
    got_first, got_second = first.lines(), second.lines()
    assert sorted(got_first + got_second) == sorted(sent)
    assert got_first and got_second, "a shared subscription should spread messages over both"


def test_gateway_may_raise_alerts_but_not_forge_station_data(stack: Stack) -> None:
    ops = Subscriber(stack, "ops", "fw/v1/#", count=2)
    pub(stack, "gateway", "fw/v1/nam-01/data/grip/dyn-1", "forged")
    assert pub(stack, "gateway", "fw/v1/alerts/decline/nam-01", "alert").returncode == 0
    assert pub(stack, "gateway", "fw/v1/gateway/deadletter", "dead").returncode == 0
    assert ops.lines() == ["fw/v1/alerts/decline/nam-01 alert", "fw/v1/gateway/deadletter dead"]


def test_stations_reach_the_tls_listener_with_the_generated_ca(stack: Stack) -> None:
    ops = Subscriber(stack, "ops", "fw/v1/buk-01/#", count=1)
    result = pub(stack, "buk-01", "fw/v1/buk-01/status", "online-over-tls", tls=True)
    assert result.returncode == 0, result.stderr
    assert ops.lines() == ["fw/v1/buk-01/status online-over-tls"]


def test_tls_refuses_a_client_that_does_not_trust_the_ca(stack: Stack, tmp_path: Path) -> None:
    other = tmp_path / "other-ca"
    subprocess.run(["bash", str(MAKE_CERTS), str(other)], check=True, capture_output=True, timeout=120)
    result = subprocess.run(
        [
            *(require_binary("mosquitto_pub"), "-h", "localhost", "-p", str(stack.broker.tls_port)),
            *("--cafile", str(other / "ca.crt"), "-u", "buk-01", "-P", USERS["buk-01"]),
            *("-t", "fw/v1/buk-01/status", "-m", "x"),
        ],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode != 0


def test_healthcheck_user_reads_broker_uptime_only(stack: Stack) -> None:
    uptime = Subscriber(stack, "healthcheck", "$SYS/broker/uptime", count=1, version="mqttv311")
    assert uptime.lines()[0].startswith("$SYS/broker/uptime ")


def test_make_passwords_refuses_an_empty_password(tmp_path: Path) -> None:
    result = make_password_file(tmp_path / "passwords", {"nam-01": ""})
    assert result.returncode != 0
    assert "MQTT_USER_NAM_01" in result.stderr
    assert not (tmp_path / "passwords").exists()


def test_make_passwords_hashes_every_user(tmp_path: Path) -> None:
    result = make_password_file(tmp_path / "passwords", USERS)
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "passwords").read_text().splitlines()
    assert sorted(line.split(":")[0] for line in lines) == sorted(USERS)
    assert not any(password in "\n".join(lines) for password in USERS.values()), "stored in clear"
    assert (tmp_path / "passwords").stat().st_mode & 0o077 == 0


def test_a_message_at_the_contract_size_limit_passes_the_committed_broker(
    stack: Stack, tmp_path: Path
) -> None:
    """The broker must not be stricter than the contract: a 24 MiB recording the edge accepted would
    otherwise be refused at the central broker and retried for ever."""
    from telemetry.codec import MAX_MESSAGE_BYTES

    big = tmp_path / "recording.bin"
    big.write_bytes(b"x" * MAX_MESSAGE_BYTES)
    args = [require_binary("mosquitto_sub"), "-h", "127.0.0.1", "-p", str(stack.broker.port), "-u", "gateway"]
    args += ["-P", USERS["gateway"], "-t", "fw/v1/nam-01/data/gait/imu-1", "-q", "1", "-C", "1", "-W", "20"]
    sub = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    send = [require_binary("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(stack.broker.port), "-q", "1"]
    send += ["-u", "nam-01", "-P", USERS["nam-01"], "-t", "fw/v1/nam-01/data/gait/imu-1", "-f", str(big)]
    assert subprocess.run(send, capture_output=True, timeout=30, check=False).returncode == 0
    out, _ = sub.communicate(timeout=30)
    assert len(out.rstrip(b"\n")) == MAX_MESSAGE_BYTES


def test_the_committed_broker_saves_on_every_change() -> None:
    """A kill -9 loses acknowledged messages unless every change is saved (tests/test_drill_broker.py)."""
    conf = (Path(__file__).parent.parent / "deploy/mosquitto/mosquitto.conf").read_text()
    lines = {
        line.split()[0]: line.split()[1:] for line in conf.splitlines() if line and not line.startswith("#")
    }
    assert lines["autosave_on_changes"] == ["true"] and lines["autosave_interval"] == ["1"]


def test_station_reads_its_own_results_and_sends_case_actions_to_the_gateway(stack: Stack) -> None:
    results = Subscriber(stack, "nam-01", "fw/v1/nam-01/results", count=1)
    cases = Subscriber(stack, "gateway", "$share/gateway/fw/v1/+/cases", count=1)
    assert pub(stack, "gateway", "fw/v1/nam-01/results", "yours").returncode == 0
    assert pub(stack, "nam-01", "fw/v1/nam-01/cases", "acknowledged").returncode == 0
    assert results.lines() == ["fw/v1/nam-01/results yours"]
    assert cases.lines() == ["fw/v1/nam-01/cases acknowledged"]


def test_station_never_receives_another_stations_results(stack: Stack) -> None:
    """nam-01 asks for buk-01's results and for everyone's; only its own arrive (the first message
    it gets is its own, although buk-01's was published first)."""
    args = [require_binary("mosquitto_sub"), "-h", "127.0.0.1", "-p", str(stack.broker.port), "-u", "nam-01"]
    args += ["-P", USERS["nam-01"], "-v", "-q", "1", "-C", "1", "-W", "10", "-V", "mqttv5"]
    args += ["-t", "fw/v1/buk-01/results", "-t", "fw/v1/+/results", "-t", "fw/v1/nam-01/results"]
    spy = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    assert pub(stack, "gateway", "fw/v1/buk-01/results", "secret").returncode == 0
    assert pub(stack, "gateway", "fw/v1/nam-01/results", "mine").returncode == 0
    out, _ = spy.communicate(timeout=20)
    assert out.splitlines() == ["fw/v1/nam-01/results mine"]
