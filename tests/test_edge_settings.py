"""Edge settings: TOML file plus FRAILWATCH_EDGE_* environment (environment wins); secrets hidden."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.settings import load


def test_toml_then_environment_and_secrets_never_print(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "station.toml"
    config.write_text(
        'station_id = "gj-07"\nuplink_port = 18883\nspool_max_bytes = 100000\n'
        'uplink_password = "toml-password-123"\npseudonym_key = "toml-key-0123456789abcdef"\n'
    )
    monkeypatch.setenv("FRAILWATCH_EDGE_UPLINK_PORT", "28883")
    monkeypatch.delenv("FRAILWATCH_EDGE_CONFIG", raising=False)
    settings = load(config)
    assert settings.station_id == "gj-07"
    assert settings.spool_max_bytes == 100000
    assert settings.uplink_port == 28883, "environment overrides the file"
    assert settings.key_bytes() == b"toml-key-0123456789abcdef"
    shown = repr(settings) + str(settings.model_dump())
    assert "toml-password-123" not in shown and "toml-key-0123456789abcdef" not in shown


def test_key_file_wins_and_a_missing_key_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRAILWATCH_EDGE_CONFIG", raising=False)
    monkeypatch.delenv("FRAILWATCH_EDGE_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("FRAILWATCH_EDGE_STATION_ID", "gj-01")
    with pytest.raises(ValueError, match="no pseudonym key"):
        load().key_bytes()
    key_file = tmp_path / "key"
    key_file.write_bytes(b"file-key-0123456789abcdef\n")
    monkeypatch.setenv("FRAILWATCH_EDGE_PSEUDONYM_KEY_FILE", str(key_file))
    monkeypatch.setenv("FRAILWATCH_EDGE_PSEUDONYM_KEY", "env-key-0123456789abcdef")
    assert load().key_bytes() == b"file-key-0123456789abcdef"


@pytest.mark.parametrize(
    ("spec", "toml", "field", "value"),
    [
        ("edge.settings:EdgeSettings", 'station_id = "gj-09"\n', "station_id", "gj-09"),
        ("gateway.settings:GatewaySettings", 'client_id = "gw-from-file"\n', "client_id", "gw-from-file"),
    ],
)
def test_each_role_reads_the_toml_its_config_variable_names(
    spec: str, toml: str, field: str, value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both roles share runtime.settings: <PREFIX>CONFIG names the file when --config is absent."""
    import importlib

    module_name, _, class_name = spec.partition(":")
    module = importlib.import_module(module_name)
    model = getattr(module, class_name)
    config = tmp_path / "role.toml"
    config.write_text(toml)
    monkeypatch.delenv(f"{model.model_config['env_prefix']}{field.upper()}", raising=False)
    monkeypatch.setenv(model.config_env(), str(config))
    assert getattr(module.load(), field) == value
    monkeypatch.delenv(model.config_env())
    assert model.config_env() in ("FRAILWATCH_EDGE_CONFIG", "FRAILWATCH_GATEWAY_CONFIG")
