"""The images' dependency sets, from the lock file the Dockerfiles install with no Docker engine.

Each Dockerfile's `uv sync` lines are read back and replayed as `uv export` with the same options,
so the test sees exactly the packages the image would get.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from _deploy_support import DEPLOY, REPO

# What a station box must not carry (pyproject: "Numba, InfluxDB and Grafana libraries live in extras").
HEAVY = {
    "numba",
    "llvmlite",
    "scipy",
    "influxdb-client",
    "grafana-foundation-sdk",
    "grafana-client",
    "matplotlib",
}


def uv() -> str:
    # `uv run` tells the child where its own binary is; otherwise look on PATH.
    path = os.environ.get("UV") or shutil.which("uv")
    assert path, "uv is not on PATH"
    return path


def sync_commands(dockerfile: Path) -> list[list[str]]:
    text = dockerfile.read_text().replace("\\\n", " ")
    return [shlex.split(m) for m in re.findall(r"^RUN (uv sync .*)$", text, re.M)]


def packages_installed_by(dockerfile: Path) -> set[str]:
    """Package names `uv sync` in this Dockerfile resolves to (the final, full sync)."""
    commands = sync_commands(dockerfile)
    assert commands, f"{dockerfile.name} has no `uv sync`"
    final = commands[-1]
    options = [a for a in final[2:] if a not in ("--no-editable", "--no-install-project")]
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    result = subprocess.run(
        [uv(), "export", "--no-hashes", "--no-emit-project", "--format", "requirements-txt", *options],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    names = set()
    for line in result.stdout.splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", line)
        if match:
            names.add(match.group(1).lower().replace("_", "-"))
    return names


def test_edge_image_has_no_numba_influxdb_or_grafana_libraries() -> None:
    packages = packages_installed_by(DEPLOY / "edge.Dockerfile")
    assert {"pydantic", "paho-mqtt", "numpy"} <= packages
    assert {"starlette", "jinja2", "uvicorn", "python-multipart"} <= packages  # the station page
    assert not packages & HEAVY, packages & HEAVY
    assert not any(p.startswith(("pytest", "mypy", "ruff", "hypothesis")) for p in packages)


def test_gateway_image_has_processing_and_the_writer_but_no_dev_tools() -> None:
    packages = packages_installed_by(DEPLOY / "gateway.Dockerfile")
    assert {"numba", "scipy", "httpx", "prometheus-client", "paho-mqtt"} <= packages
    assert not any(p.startswith(("pytest", "mypy", "ruff", "hypothesis")) for p in packages)
    assert "matplotlib" not in packages, "the demo's plotting belongs to the demo extra only"


@pytest.mark.parametrize("name", ["edge", "gateway"])
def test_dockerfile_is_multi_stage_locked_and_runs_unprivileged(name: str) -> None:
    text = (DEPLOY / f"{name}.Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\S+)$", text, re.M)
    assert stages == ["build", "runtime"]
    runtime = text.split(" AS runtime", 1)[1]
    assert "COPY --from=build /opt/frailwatch /opt/frailwatch" in runtime
    assert "uv" not in re.sub(r"#.*", "", runtime).split(), "the build tool stays in the build stage"
    assert re.search(r"^USER (?!root)\S+$", runtime, re.M)
    for command in sync_commands(DEPLOY / f"{name}.Dockerfile"):
        assert "--locked" in command and "--no-dev" in command
    # Every package the wheel is built from is copied in before the final sync.
    wheel = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    for package in wheel["packages"]:
        assert f"COPY {package} {package}" in text
    # The image's command is one of the CLI's subcommands.
    assert re.search(rf'^CMD \["{name}", "run"\]$', text, re.M)
    assert (DEPLOY / f"{name}.Dockerfile.dockerignore").read_text().count(".venv") == 1
