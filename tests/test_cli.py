"""The `frailwatch` entry point: help, version, and schema export for every device kind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema

from telemetry import DeviceKind, encode
from telemetry.examples import example_messages


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "frailwatch.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_help_lists_the_core_commands() -> None:
    result = _run("--help")
    assert result.returncode == 0
    for command in ("version", "schema"):
        assert command in result.stdout


def test_version() -> None:
    from frailwatch import __version__

    result = _run("version")
    assert result.returncode == 0 and result.stdout.strip() == f"frailwatch {__version__}"


def test_schema_export_writes_a_schema_per_kind_that_validates_the_examples(tmp_path: Path) -> None:
    result = _run("schema", "export", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for kind, message in example_messages().items():
        schema = json.loads((tmp_path / f"{kind.value}.schema.json").read_text())
        jsonschema.validate(json.loads(encode(message)), schema)
        bad = json.loads(encode(message))
        bad["station_id"] = "NOT A STATION"
        try:
            jsonschema.validate(bad, schema)
        except jsonschema.ValidationError:
            pass
        else:
            raise AssertionError(f"{kind} schema accepted a bad station id")
    assert {p.name for p in tmp_path.iterdir()} >= {f"{k.value}.schema.json" for k in DeviceKind}
    for name in ("batch", "heartbeat", "station_status", "dead_letter", "case_event"):
        assert (tmp_path / f"{name}.schema.json").exists()


def test_unknown_command_exits_2() -> None:
    assert _run("no-such-command").returncode == 2
