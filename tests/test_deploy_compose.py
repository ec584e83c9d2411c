"""The docker compose stack, checked without a Docker engine.

docker-compose (v1, Debian) parses and interpolates it, the compose-spec JSON schema validates it,
and the tests below check what neither can: every bind mount exists, every station has broker
credentials and its own ACL entry, and every variable the services and scripts read is set.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _deploy_support import (
    ACL_FILE,
    COMPOSE_FILE,
    DEPLOY,
    ENV_EXAMPLE,
    MAKE_CERTS,
    REPO,
    acl_users,
    docker_compose,
    mounts,
    read_env_file,
    resolved_compose,
)

from telemetry import topics

GRAFANA_PROVISIONING = REPO / "grafana" / "provisioning"


@pytest.fixture(scope="module")
def certs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("certs")
    subprocess.run(["bash", str(MAKE_CERTS), str(directory)], check=True, capture_output=True, timeout=120)
    return directory


@pytest.fixture(scope="module")
def config(certs_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The stack as an operator's .env resolves it: each placeholder a secret of its own."""
    env = {
        k: (f"secret-of-{k.lower()}" if v == "CHANGE_ME" else v)
        for k, v in read_env_file(ENV_EXAMPLE).items()
    }
    env["FW_CERTS_DIR"] = str(certs_dir)
    env_file = tmp_path_factory.mktemp("env") / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return resolved_compose(env_file)


def edge_services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in config["services"].items() if s.get("command", [None])[0] == "edge"}


def gateway_services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in config["services"].items() if s.get("command", [None])[0] == "gateway"}


def test_docker_compose_accepts_the_file_with_the_example_env() -> None:
    result = subprocess.run(
        [docker_compose(), "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_a_missing_secret_is_refused_by_name(tmp_path: Path) -> None:
    env = read_env_file(ENV_EXAMPLE)
    del env["MQTT_USER_NAM_01"]
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    result = subprocess.run(
        [docker_compose(), "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("MQTT_USER_")},
    )
    assert result.returncode != 0
    assert "MQTT_USER_NAM_01" in result.stderr


@pytest.mark.parametrize("resolved", [False, True], ids=["as-written", "resolved"])
def test_compose_spec_schema(resolved: bool, config: dict[str, Any], tmp_path: Path) -> None:
    import yaml

    target = COMPOSE_FILE
    if resolved:
        target = tmp_path / "resolved.yml"
        target.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_bind_mount_exists(config: dict[str, Any], certs_dir: Path) -> None:
    binds = [m for m in mounts(config) if m.kind == "bind"]
    assert binds, "expected bind mounts (configs, certificates, provisioning)"
    missing = [m for m in binds if not Path(m.source).exists()]
    others = [f"{m.service}: {m.source}" for m in missing if Path(m.source) != GRAFANA_PROVISIONING]
    assert not others, f"mounted paths that do not exist: {others}"
    # The broker's config names the certificate files it loads: make-certs.sh must produce them.
    broker_conf = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text()
    for name in re.findall(r"^(?:cafile|certfile|keyfile) /mosquitto/certs/(\S+)$", broker_conf, re.M):
        assert (certs_dir / name).is_file(), name
    assert not missing, (
        "grafana/provisioning is not generated: run "
        f"`frailwatch grafana build --out grafana/provisioning` ({missing})"
    )


def test_every_named_volume_is_declared(config: dict[str, Any]) -> None:
    used = {m.source for m in mounts(config) if m.kind == "volume"}
    assert used <= set(config["volumes"]), used - set(config["volumes"])
    # Everything that must survive a restart is on a named volume.
    targets = {(m.service, m.target) for m in mounts(config) if m.kind == "volume"}
    for service, target in [
        ("mosquitto", "/mosquitto/data"),
        ("influxdb", "/var/lib/influxdb2"),
        ("grafana", "/var/lib/grafana"),
    ]:
        assert (service, target) in targets
    for name in edge_services(config):
        assert any(s == name and t.endswith("/spool") for s, t in targets), f"{name} has no spool volume"


def test_depends_on_conditions_point_at_healthchecks(config: dict[str, Any]) -> None:
    services = config["services"]
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck ({name})"
    # The long-running infrastructure is health-checked, and the gateways wait for it.
    for name in ["mosquitto", "influxdb", "grafana", *gateway_services(config)]:
        assert "healthcheck" in services[name], name
    for name in gateway_services(config):
        assert services[name]["depends_on"]["mosquitto"]["condition"] == "service_healthy"
        assert services[name]["depends_on"]["influxdb"]["condition"] == "service_healthy"
    assert services["mosquitto"]["depends_on"]["broker-init"]["condition"] == "service_completed_successfully"


def test_three_stations_each_with_own_credentials_and_acl_entry(config: dict[str, Any]) -> None:
    edges = edge_services(config)
    assert len(edges) == 3
    acl = acl_users(ACL_FILE.read_text())
    init_env = config["services"]["broker-init"]["environment"]
    passwords = set()
    for name, service in edges.items():
        env = service["environment"]
        station = env["FRAILWATCH_EDGE_STATION_ID"]
        assert env["FRAILWATCH_EDGE_UPLINK_USERNAME"] == station, name
        password = env["FRAILWATCH_EDGE_UPLINK_PASSWORD"]
        passwords.add(password)
        # broker-init hashes exactly this password for this user.
        assert init_env["MQTT_USER_" + station.upper().replace("-", "_")] == password
        # The station may publish under its own prefix and nowhere else, and read its own results.
        assert acl[station] == topics.station_grants(station), station
        # It reaches the central broker over TLS, verifying it with the mounted CA.
        assert env["FRAILWATCH_EDGE_UPLINK_PORT"] == "8883"
        ca = env["FRAILWATCH_EDGE_UPLINK_CA_FILE"]
        assert any(m.service == name and m.target == ca for m in mounts(config))
    assert len(passwords) == len(edges), "stations share a password"


def test_gateways_are_two_replicas_on_one_shared_subscription(config: dict[str, Any]) -> None:
    gateways = gateway_services(config)
    assert len(gateways) == 2
    envs = [g["environment"] for g in gateways.values()]
    assert len({e["FRAILWATCH_GATEWAY_CLIENT_ID"] for e in envs}) == 2, "client ids must differ"
    shared = {k: v for k, v in envs[0].items() if k != "FRAILWATCH_GATEWAY_CLIENT_ID"}
    assert all({k: v for k, v in e.items() if k != "FRAILWATCH_GATEWAY_CLIENT_ID"} == shared for e in envs)
    acl = acl_users(ACL_FILE.read_text())
    user = envs[0]["FRAILWATCH_GATEWAY_MQTT_USERNAME"]
    readable = {topic for access, topic in acl[user] if access in ("read", "readwrite")}
    assert {topics.ALL_DATA, topics.ALL_BATCHES, topics.ALL_HEARTBEATS, topics.ALL_STATUS} <= readable
    assert topics.ALL_CASE_ACTIONS in readable and ("write", topics.ALL_RESULTS) in acl[user]
    assert ("write", topics.ALL_RECEIPTS) in acl[user]
    assert not any(access in ("write", "readwrite") and "+/data" in t for access, t in acl[user])


def test_the_committed_acl_is_the_one_definition_rendered_for_the_compose_stations(
    config: dict[str, Any],
) -> None:
    from telemetry.acl import central_acl

    stations = [s["environment"]["FRAILWATCH_EDGE_STATION_ID"] for s in edge_services(config).values()]
    assert ACL_FILE.read_text() == central_acl(sorted(stations), healthcheck_user="healthcheck"), (
        "deploy/mosquitto/acl: regenerate it from telemetry.acl.central_acl"
    )


def test_every_mqtt_user_in_the_acl_gets_a_password(config: dict[str, Any]) -> None:
    acl = acl_users(ACL_FILE.read_text())
    init_env = config["services"]["broker-init"]["environment"]
    users = {key.removeprefix("MQTT_USER_").lower().replace("_", "-") for key in init_env}
    assert users == set(acl), f"ACL users without password: {set(acl) - users}; extra: {users - set(acl)}"


def _script_variables(path: Path) -> set[str]:
    """Variables a shell script requires: ${NAME:?...} and ${NAME:-...} forms."""
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)(?::[?-])", path.read_text()))


def test_influxdb_init_script_gets_every_variable_it_reads(config: dict[str, Any]) -> None:
    env = config["services"]["influxdb"]["environment"]
    script = DEPLOY / "influxdb" / "10-frailwatch.sh"
    required = _script_variables(script) - {"DOCKER_INFLUXDB_INIT_BUCKET_ID"}  # exported by the image
    assert required, "expected the script to read FW_INFLUX_* variables"
    assert required <= set(env), required - set(env)
    assert all(env[name] for name in required)
    # InfluxDB's own setup variables.
    for name in ["MODE", "USERNAME", "PASSWORD", "ORG", "BUCKET", "ADMIN_TOKEN"]:
        assert env[f"DOCKER_INFLUXDB_INIT_{name}"]
    # Grafana and the gateway authenticate as the users the script creates, with its passwords.
    gateway_env = next(iter(gateway_services(config).values()))["environment"]
    assert gateway_env["FRAILWATCH_GATEWAY_INFLUX_USERNAME"] == env["FW_INFLUX_GATEWAY_USER"]
    assert gateway_env["FRAILWATCH_GATEWAY_INFLUX_PASSWORD"] == env["FW_INFLUX_GATEWAY_PASSWORD"]


def test_grafana_provisioning_reads_only_variables_that_are_set(config: dict[str, Any]) -> None:
    service = config["services"]["grafana"]
    provisioning = next(m for m in mounts(config) if m.service == "grafana" and "provisioning" in m.target)
    assert Path(provisioning.source) == GRAFANA_PROVISIONING
    files = [p for p in Path(provisioning.source).rglob("*") if p.suffix in (".yaml", ".yml")]
    assert files, "grafana/provisioning has no YAML files"
    wanted: set[str] = set()
    for path in files:
        text = path.read_text()
        wanted |= set(re.findall(r"\$__env\{([A-Za-z_][A-Za-z0-9_]*)\}", text))
        wanted |= set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text))
        wanted |= set(re.findall(r"(?<![{$\w])\$([A-Z_][A-Z0-9_]*)", text))
    missing = sorted(wanted - set(service["environment"]))
    assert not missing, f"grafana provisioning reads unset variables: {missing}"


def test_env_example_covers_every_variable_the_compose_file_uses() -> None:
    text = COMPOSE_FILE.read_text()
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
    required = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?", text))
    example = read_env_file(ENV_EXAMPLE)
    assert required <= set(example), required - set(example)
    assert used <= set(example), f"documented nowhere: {used - set(example)}"


def test_init_script_writes_private_random_secrets_and_certificates(tmp_path: Path) -> None:
    """deploy/init.sh in a copy of the repository: .env without placeholders, all secrets distinct."""
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env.example")
    shutil.copytree(DEPLOY, tmp_path / "deploy", ignore=shutil.ignore_patterns("generated"))
    result = subprocess.run(
        ["bash", str(tmp_path / "deploy" / "init.sh")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    env_file = tmp_path / ".env"
    assert env_file.stat().st_mode & 0o077 == 0, "the .env with secrets must be private"
    env = read_env_file(env_file)
    assert "CHANGE_ME" not in env_file.read_text()
    secrets = [env[k] for k, v in read_env_file(ENV_EXAMPLE).items() if v == "CHANGE_ME"]
    assert len(secrets) >= 10 and len(set(secrets)) == len(secrets)
    assert all(len(s) >= 32 for s in secrets)
    for name in ("ca.crt", "server.crt", "server.key"):
        assert (tmp_path / "deploy" / "certs" / "generated" / name).is_file()
    # Running it again keeps the secrets (they are already inside the volumes).
    before = env_file.read_text()
    subprocess.run(
        ["bash", str(tmp_path / "deploy" / "init.sh")], check=True, capture_output=True, timeout=120
    )
    assert env_file.read_text() == before


# --- the roles read what the compose file sets ------------------------------------------------------


def _settings_model(spec: str) -> Any:
    module_name, _, class_name = spec.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def _settings_from(spec: str, environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Build a role's settings exactly as the container would: from its environment only."""
    model = _settings_model(spec)
    prefix = str(model.model_config.get("env_prefix", "")).upper()
    for name in list(os.environ):
        if name.upper().startswith(prefix):
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, str(value))
    return model()


def _unread(spec: str, environment: dict[str, str]) -> list[str]:
    """Variables with the role's prefix that no settings field reads (a typo would land here)."""
    model = _settings_model(spec)
    prefix = str(model.model_config.get("env_prefix", "")).upper()
    delimiter = str(model.model_config.get("env_nested_delimiter") or "").upper()
    fields = {name.upper() for name in model.model_fields}
    unread = []
    for name in environment:
        if not name.upper().startswith(prefix):
            continue
        key = name.upper().removeprefix(prefix)
        top = key.split(delimiter)[0] if delimiter else key
        if top not in fields:
            unread.append(name)
    return unread


EDGE_SETTINGS = "edge.settings:EdgeSettings"
GATEWAY_SETTINGS = "gateway.settings:GatewaySettings"


def test_edge_agents_settings_load_from_their_compose_environment(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, service in edge_services(config).items():
        environment = service["environment"]
        assert not _unread(EDGE_SETTINGS, environment), f"{name}: variables no setting reads"
        with monkeypatch.context() as patch:
            settings = _settings_from(EDGE_SETTINGS, environment, patch)
        assert environment["FRAILWATCH_EDGE_STATION_ID"] in repr(settings.model_dump())


def test_gateways_settings_load_from_their_compose_environment(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, service in gateway_services(config).items():
        environment = service["environment"]
        assert not _unread(GATEWAY_SETTINGS, environment), f"{name}: variables no setting reads"
        with monkeypatch.context() as patch:
            settings = _settings_from(GATEWAY_SETTINGS, environment, patch)
        assert environment["FRAILWATCH_GATEWAY_CLIENT_ID"] in repr(settings.model_dump())


def test_gateway_healthcheck_is_healthy_only_while_connected(config: dict[str, Any]) -> None:
    """The compose health check's own code against a real gateway Metrics endpoint: unhealthy until
    the connected gauge is 1, on the port the service's environment gives the gateway."""
    from gateway import metrics
    from runtime.local_servers import free_port

    for name, service in gateway_services(config).items():
        code = service["healthcheck"]["test"][-1]
        configured = service["environment"]["FRAILWATCH_GATEWAY_METRICS_PORT"]
        assert f":{configured}/metrics" in code, name
        gauges = metrics.Metrics(name)
        port = free_port()
        assert gauges.serve("127.0.0.1", port)
        check = code.replace(f":{configured}/", f":{port}/")

        def healthy(check: str = check) -> bool:
            run = subprocess.run([sys.executable, "-c", check], capture_output=True, timeout=30, check=False)
            return run.returncode == 0

        assert not healthy(), f"{name}: healthy before connecting"
        gauges.connected.set(1)
        assert healthy(), f"{name}: unhealthy while connected"
        gauges.connected.set(0)
        assert not healthy(), f"{name}: healthy after losing the broker"


def test_every_service_command_is_a_real_frailwatch_subcommand(config: dict[str, Any]) -> None:
    from frailwatch.cli import build_parser

    parser = build_parser()
    ours = {n: s for n, s in config["services"].items() if str(s.get("image", "")).startswith("frailwatch-")}
    assert len(ours) == 2 + 3 * 2
    for name, service in ours.items():
        try:
            args = parser.parse_args(service["command"])
        except SystemExit as exc:
            raise AssertionError(
                f"{name}: `frailwatch {' '.join(service['command'])}` does not parse"
            ) from exc
        assert callable(args.handler), name


def test_the_simulators_keep_working_a_year_from_now_with_their_own_people(config: dict[str, Any]) -> None:
    """Each simulator service's command, parsed by the real `frailwatch` parser and run with the
    clock set a year ahead: all its visits fall before that clock (within its --days), none is
    pinned to a fixed date, and no two stations' simulators share a member id."""
    from datetime import UTC, datetime, timedelta

    from edge.simulate.cli import cohort_from
    from frailwatch.cli import build_parser

    sims = {n: s for n, s in config["services"].items() if s.get("command", [None])[0] == "simulate"}
    assert len(sims) == len(edge_services(config))
    ahead = datetime.now(UTC) + timedelta(days=365)
    members: dict[str, set[str]] = {}
    for name, service in sims.items():
        args = build_parser().parse_args(service["command"])
        assert args.now is None, f"{name}: pinned to --now {args.now}"
        cohort = cohort_from(args, now=ahead)
        times = [at for *_, at in cohort.visits()]
        assert times and max(times) < ahead and min(times) >= ahead - timedelta(days=args.days + 1), name
        members[name] = {p.member_id for p in cohort.participants}
    names = sorted(members)
    for i, one in enumerate(names):
        for other in names[i + 1 :]:
            assert not members[one] & members[other], (one, other)


def test_edge_agents_have_a_health_check_the_simulators_wait_for(config: dict[str, Any]) -> None:
    """Each edge service's health check is `frailwatch edge health` (parsed by the real parser, it
    reaches that handler and reads the spool directory the service's own environment gives), and
    each station's simulator starts only once its agent is healthy (subscribed: a fresh station
    broker keeps no reading for an agent that has not subscribed yet)."""
    from edge.cli import _health
    from frailwatch.cli import build_parser

    services = config["services"]
    for name, service in edge_services(config).items():
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD" and test[1] == "frailwatch", (name, test)
        args = build_parser().parse_args(test[2:])
        assert args.handler is _health, name
        assert "FRAILWATCH_EDGE_SPOOL_DIR" in service["environment"], name
        station = service["environment"]["FRAILWATCH_EDGE_STATION_ID"]
        assert services[f"{station}-sim"]["depends_on"][name]["condition"] == "service_healthy"
