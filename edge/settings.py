"""Edge agent settings: a TOML file plus FRAILWATCH_EDGE_* environment variables (env wins)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from runtime.settings import RoleSettings, load_settings
from telemetry.envelope import StationId

ProgrammeKey = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Label = Annotated[str, Field(min_length=1, max_length=80)]
#: Social-prescription programmes offered when a station configures none (key → {ko, en} label).
DEFAULT_PROGRAMMES: dict[str, dict[Literal["ko", "en"], str]] = {
    "exercise-class": {"ko": "운동 교실 (근력·균형)", "en": "Exercise class (strength and balance)"},
    "walking-group": {"ko": "걷기 모임", "en": "Walking group"},
    "nutrition": {"ko": "영양 상담", "en": "Nutrition counselling"},
    "emotional-support": {"ko": "정서 지원·마음 돌봄", "en": "Emotional support"},
    "social-activity": {"ko": "마을 모임·사회 활동", "en": "Community and social activities"},
    "health-education": {"ko": "건강 교육", "en": "Health education"},
}


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
    receipts: bool = Field(
        default=True,
        description="keep a spooled message until a gateway's receipt says it is in InfluxDB, not just until "
        "the central broker's PUBACK (off only for gateways that send no receipts)",
    )
    receipt_timeout_s: float = Field(
        default=60.0, gt=0, description="a sent message no receipt named by then is sent again (doubling)"
    )
    heartbeat_s: float = Field(default=30.0, gt=0)
    device_receive_maximum: int = Field(default=50, ge=1, le=65535)
    results_session_expiry_s: int = Field(
        default=7 * 24 * 3600,
        ge=60,
        description="how long the central broker keeps results for an offline station",
    )
    page_enabled: bool = Field(
        default=False, description="serve the station page (needs the `station` extra)"
    )
    page_host: str = Field(
        default="127.0.0.1", description="address on the station network; loopback by default"
    )
    page_port: int = Field(default=8080, ge=1, le=65535)
    page_language: Literal["ko", "en"] = Field(default="ko", description="language before a user switches")
    page_timezone: str = Field(default="Asia/Seoul", description="station-local day for today's visits")
    page_session_hours: float = Field(default=8.0, gt=0, le=24 * 7)
    page_cookie_secure: bool = Field(default=False, description="mark cookies Secure (behind an HTTPS proxy)")
    programmes: dict[ProgrammeKey, dict[Literal["ko", "en"], Label]] = Field(
        default_factory=lambda: dict(DEFAULT_PROGRAMMES),
        description="social-prescription programmes: key → {ko, en} label",
    )

    @field_validator("page_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

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
