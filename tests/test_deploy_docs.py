"""README.md's configuration reference is generated from the settings models: it must be current."""

from __future__ import annotations

import subprocess
import sys

from _deploy_support import DEPLOY, REPO


def test_configuration_reference_matches_the_settings_models() -> None:
    result = subprocess.run(
        [sys.executable, str(DEPLOY / "config_reference.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + "\nrun: uv run python deploy/config_reference.py --write"
