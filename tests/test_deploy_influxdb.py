"""deploy/influxdb/10-frailwatch.sh, the compose InfluxDB 2's first-start script, checked against
the schema's retention policies without an InfluxDB 2 server (none is installable here).

The script runs under bash exactly as the image would run it, with the compose file's environment
for the influxdb service, but the `influx` CLI on its PATH is a recording stand-in that answers
`list` as an empty (or, the second time, a fully set-up) server and `create` with an id. What is
checked is what the script asks InfluxDB 2 to do: a bucket and a DBRP mapping per retention
policy of gateway/influx_schema.py with the durations the schema and compose give, the default mapping
on the clinical bucket, the gateway's and Grafana's v1 users scoped to exactly those buckets, and
nothing created twice. Whether InfluxDB 2.7 accepts these commands is not verified here.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
from _deploy_support import DEPLOY, ENV_EXAMPLE, read_env_file, resolved_compose

from gateway import influx_schema

SCRIPT = DEPLOY / "influxdb" / "10-frailwatch.sh"
CLINICAL_ID = "0a1b2c3d4e5f6a7b"

# `influx` as the script calls it: records every call; `list` prints what STATE_DIR holds.
STUB = r"""#!/bin/bash
printf '%s\n' "$*" >> "$STUB_LOG"
case "$1 $2" in
  "bucket list")
    name=""; while [ $# -gt 0 ]; do [ "$1" = "--name" ] && name=$2; shift; done
    [ -f "$STUB_STATE/bucket-${name//\//_}" ] && cat "$STUB_STATE/bucket-${name//\//_}"; exit 0 ;;
  "bucket create")
    name=""; while [ $# -gt 0 ]; do [ "$1" = "--name" ] && name=$2; shift; done
    line="id-${name//\//-} $name"; echo "$line" > "$STUB_STATE/bucket-${name//\//_}"; echo "$line"; exit 0 ;;
  "v1 dbrp")
    if [ "$3" = "list" ]; then rp=""; while [ $# -gt 0 ]; do [ "$1" = "--rp" ] && rp=$2; shift; done
      [ -f "$STUB_STATE/dbrp-$rp" ] && cat "$STUB_STATE/dbrp-$rp"; exit 0; fi
    rp=""; while [ $# -gt 0 ]; do [ "$1" = "--rp" ] && rp=$2; shift; done
    echo "mapping $rp" > "$STUB_STATE/dbrp-$rp"; exit 0 ;;
  "v1 auth")
    sub=$3; user=""; while [ $# -gt 0 ]; do [ "$1" = "--username" ] && user=$2; shift; done
    if [ "$sub" = "list" ]; then [ -f "$STUB_STATE/user-$user" ] && cat "$STUB_STATE/user-$user"; exit 0; fi
    echo "auth $user" > "$STUB_STATE/user-$user"; exit 0 ;;
esac
echo "unexpected influx call: $*" >&2; exit 3
"""


@pytest.fixture(scope="module")
def influx_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The influxdb service's environment as compose resolves it from the example .env."""
    env = {
        k: (f"secret-of-{k.lower()}" if v == "CHANGE_ME" else v)
        for k, v in read_env_file(ENV_EXAMPLE).items()
    }
    env_file = tmp_path_factory.mktemp("env") / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    config: dict[str, Any] = resolved_compose(env_file)
    return {k: str(v) for k, v in config["services"]["influxdb"]["environment"].items()}


def _run(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir(exist_ok=True)
    state.mkdir(exist_ok=True)
    stub = bin_dir / "influx"
    stub.write_text(STUB)
    stub.chmod(0o755)
    log = tmp_path / "calls.log"
    log.write_text("")
    environment = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "STUB_LOG": str(log),
        "STUB_STATE": str(state),
        "DOCKER_INFLUXDB_INIT_BUCKET_ID": CLINICAL_ID,
        **env,
    }
    done = subprocess.run(["bash", str(SCRIPT)], env=environment, capture_output=True, text=True, timeout=60)
    return done, [shlex.split(line) for line in log.read_text().splitlines()]


def _flag(call: list[str], name: str) -> list[str]:
    return [call[i + 1] for i, x in enumerate(call) if x == name]


def test_one_bucket_and_mapping_per_schema_policy_and_users_scoped_to_them(
    tmp_path: Path, influx_env: dict[str, str]
) -> None:
    done, calls = _run(tmp_path, influx_env)
    assert done.returncode == 0, done.stderr
    database = influx_env["FW_INFLUX_DATABASE"]
    created = {
        _flag(c, "--name")[0]: _flag(c, "--retention")[0] for c in calls if c[:2] == ["bucket", "create"]
    }
    # every non-default policy of the schema gets a bucket "<database>/<policy>", with compose's
    # duration, which for ops is the schema's own default (90d)
    assert created == {
        f"{database}/{policy}": influx_env[f"FW_INFLUX_{policy.upper()}_RETENTION"]
        for policy in influx_schema.RETENTION_POLICIES
        if policy != influx_schema.FOREVER
    }
    assert influx_env["FW_INFLUX_OPS_RETENTION"] == influx_schema.RETENTION_POLICIES[influx_schema.OPS]
    ids = {
        f"{database}/{p}": f"id-{database}-{p}"
        for p in influx_schema.RETENTION_POLICIES
        if p != influx_schema.FOREVER
    }
    mappings = {
        _flag(c, "--rp")[0]: (_flag(c, "--bucket-id")[0], "--default" in c)
        for c in calls
        if c[:3] == ["v1", "dbrp", "create"]
    }
    assert set(mappings) == set(influx_schema.RETENTION_POLICIES)
    assert mappings[influx_schema.FOREVER] == (CLINICAL_ID, True), (
        "clinical data: the image's bucket, the default"
    )
    for policy in set(influx_schema.RETENTION_POLICIES) - {influx_schema.FOREVER}:
        assert mappings[policy] == (ids[f"{database}/{policy}"], False)
    assert all(_flag(c, "--db") == [database] for c in calls if c[:3] == ["v1", "dbrp", "create"])
    users = {_flag(c, "--username")[0]: c for c in calls if c[:3] == ["v1", "auth", "create"]}
    every_bucket = {CLINICAL_ID, *ids.values()}
    gateway, grafana = (
        users[influx_env["FW_INFLUX_GATEWAY_USER"]],
        users[influx_env["FW_INFLUX_GRAFANA_USER"]],
    )
    assert set(_flag(gateway, "--write-bucket")) == set(_flag(gateway, "--read-bucket")) == every_bucket
    assert set(_flag(grafana, "--read-bucket")) == every_bucket and not _flag(grafana, "--write-bucket")


def test_running_it_again_creates_nothing(tmp_path: Path, influx_env: dict[str, str]) -> None:
    first, _ = _run(tmp_path, influx_env)
    assert first.returncode == 0, first.stderr
    again, calls = _run(tmp_path, influx_env)
    assert again.returncode == 0, again.stderr
    assert not [c for c in calls if "create" in c[:3]], calls


def test_an_unbounded_ops_retention_is_refused(tmp_path: Path, influx_env: dict[str, str]) -> None:
    done, calls = _run(tmp_path, {**influx_env, "FW_INFLUX_OPS_RETENTION": "0"})
    assert done.returncode == 1 and "must be bounded" in done.stderr
    assert calls == []
