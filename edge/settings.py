"""Edge agent settings: a TOML file plus FRAILWATCH_EDGE_* environment variables (env wins)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from frailwatch.settings import RoleSettings, load_settings
from telemetry.envelope import StationId


class EdgeSettings(RoleSettings):
    """Everything one station's agent needs; secrets are SecretStr so they never print."""

    model_config = SettingsConfigDict(env_prefix="FRAILWATCH_EDGE_", extra="ignore")

    station_id: StationId
    device_mqtt_host: str = "127.0.0.1"
    device_mqtt_port: int = 1883
    uplink_host: str = "127.0.0.1"
    uplink_port: int = 8883
    uplink_username: str | None = None
    uplink_password: SecretStr | None = None
    uplink_ca_file: Path | None = None
    uplink_cert_file: Path | None = None
    uplink_key_file: Path | None = None
    uplink_keepalive_s: int = Field(default=15, ge=1, le=600)
    uplink_max_inflight: int = Field(default=100, ge=1, le=1000)
    batch_max: int = Field(
        default=50, ge=1, le=1000, description="readings per MessageBatch; 1 turns batching off"
    )
    batch_small_bytes: int = Field(default=2048, ge=0, description="readings up to this size may be batched")
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
    refused_retry_min_s: float = Field(
        default=1.0, gt=0, description="first re-send after the central broker refused a message"
    )
    refused_retry_max_s: float = Field(
        default=60.0,
        gt=0,
        description="re-send ceiling; errors such as 0x87 Not authorized are retried at this slow pace",
    )
    pseudonym_key: SecretStr | None = None
    pseudonym_key_file: Path | None = None
    spool_dir: Path = Path("/var/lib/frailwatch/edge")
    spool_max_bytes: int = Field(default=512 * 1024 * 1024, ge=4096)
    drain_s: float = Field(default=10.0, ge=0, description="on SIGTERM, how long to wait for PUBACKs")
    heartbeat_s: float = Field(default=30.0, gt=0)
    device_receive_maximum: int = Field(default=50, ge=1, le=65535)

    def key_bytes(self) -> bytes:
        """The deployment-wide pseudonym key (file first, then the variable)."""
        if self.pseudonym_key_file is not None:
            return self.pseudonym_key_file.read_bytes().strip()
        if self.pseudonym_key is not None:
            return self.pseudonym_key.get_secret_value().encode()
        raise ValueError("no pseudonym key: set FRAILWATCH_EDGE_PSEUDONYM_KEY or ..._PSEUDONYM_KEY_FILE")


def load(config: Path | None = None) -> EdgeSettings:
    """Settings from ``config`` (or FRAILWATCH_EDGE_CONFIG) and the environment."""
    return load_settings(EdgeSettings, config)
