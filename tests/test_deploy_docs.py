"""README.md's configuration reference is generated from the settings models: it must be current."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from _deploy_support import DEPLOY, REPO

ROLE_SETTINGS = ("edge.settings", "gateway.settings")


def test_configuration_reference_matches_the_settings_models() -> None:
    missing = [m for m in ROLE_SETTINGS if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"the reference covers every role; not in this checkout yet: {missing}")
    result = subprocess.run(
        [sys.executable, str(DEPLOY / "config_reference.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + "\nrun: uv run python deploy/config_reference.py --write"
