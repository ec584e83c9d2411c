"""Gateway settings: a TOML file (``--config``) plus FRAILWATCH_GATEWAY_* environment variables (env wins).

Every field is one flat variable (no nesting), so ``FRAILWATCH_GATEWAY_<FIELD>`` is the whole rule;
docs/gateway.md lists them. Secrets are ``SecretStr`` so they never print or log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from processing.scoring.tug import CUTOFF_RANGE_S, TUG_FALL_RISK_S
from runtime.settings import RoleSettings, load_settings


class GatewaySettings(RoleSettings):
    """Everything one gateway replica needs. Replicas differ only in ``client_id``."""

    model_config = SettingsConfigDict(env_prefix="FRAILWATCH_GATEWAY_", extra="ignore")

    # --- central broker ---------------------------------------------------------------------
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_ca_file: Path | None = Field(default=None, description="CA bundle: connect with TLS when set")
    mqtt_cert_file: Path | None = None
    mqtt_key_file: Path | None = None
    mqtt_keepalive_s: int = Field(default=15, ge=1, le=600)
    client_id: str = Field(
        default="frailwatch-gateway-1",
        min_length=1,
        max_length=64,
        description="stable per replica: the broker keeps its persistent session under this id",
    )
    share_group: str = Field(default="gateway", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    session_expiry_s: int = Field(
        default=7 * 24 * 3600,
        ge=0,
        description="how long the broker queues for this replica while it is away",
    )
    receive_maximum: int = Field(
        default=2000,
        ge=1,
        le=65535,
        description="unacknowledged messages the broker may send us (MQTT 5): the in-flight bound",
    )
    # Reconnect fast and keep trying: Mosquitto forgets shared subscriptions across its restart, so
    # whatever stations publish before we resubscribe reaches no gateway (docs/gateway.md). A
    # handful of replicas retrying a few times a second is no load.
    reconnect_min_s: float = Field(default=0.1, gt=0)
    reconnect_max_s: float = Field(default=0.25, gt=0)

    # --- InfluxDB ---------------------------------------------------------------------------
    influx_version: Literal[1, 2] = 1
    influx_url: str = "http://127.0.0.1:8086"
    influx_database: str = "frailwatch"
    influx_username: str | None = None
    influx_password: SecretStr | None = None
    influx_retention_policy: str | None = None
    influx_org: str | None = None
    influx_bucket: str | None = None
    influx_token: SecretStr | None = None
    influx_timeout_s: float = Field(default=10.0, gt=0)
    influx_gzip: bool = True

    # --- batching, processing, stats --------------------------------------------------------
    write_max_bytes: int = Field(default=1_000_000, ge=1024, description="line protocol per write")
    write_max_delay_s: float = Field(default=0.05, ge=0, description="how long a write waits to fill up")
    intake_batch: int = Field(default=500, ge=1, description="messages decoded together")
    intake_linger_s: float = Field(
        default=0.005,
        ge=0,
        le=1,
        description="how long the dispatcher waits for a group to fill (a group's cost is mostly fixed)",
    )
    recording_batch: int = Field(default=64, ge=1, description="recordings analysed together")
    processing_workers: int = Field(default=0, ge=0, description="threads for the kernels; 0 = CPU count")
    stats_interval_s: float = Field(default=10.0, gt=0, description="gateway_stats points every N s")
    metrics_port: int = Field(default=9108, ge=0, le=65535, description="Prometheus endpoint; 0 = off")
    metrics_host: str = "0.0.0.0"
    drain_s: float = Field(default=10.0, ge=0, description="on SIGTERM, how long to flush and acknowledge")
    receipts: bool = Field(
        default=True,
        description="tell each station which of its messages are durable (fw/v1/<station>/receipts); "
        "its edge deletes a spooled message only then",
    )
    receipt_interval_s: float = Field(
        default=0.1, gt=0, le=10, description="receipts are gathered and sent per station every N s"
    )

    # --- clinical choices and checks ---------------------------------------------------------
    tug_fall_risk_s: float = Field(
        default=TUG_FALL_RISK_S,
        ge=CUTOFF_RANGE_S[0],
        le=CUTOFF_RANGE_S[1],
        description="TUG at or above this is raised fall risk (Shumway-Cook 2000; 12 s in some guidelines):"
        " the visit scores', the visit result's band and the case detector's cut-off",
    )
    visit_timezone: str = Field(
        default="Asia/Seoul", description="a visit is one local day at its station: the stations' time zone"
    )
    station_timezones: dict[str, str] = Field(
        default_factory=dict, description="per-station time zones where they differ (station id -> IANA zone)"
    )
    pre_visit_window_h: float = Field(
        default=24.0, ge=0, le=72, description="a questionnaire up to this long before a visit's day joins it"
    )
    drill_crash_at: str | None = Field(
        default=None,
        description="drills only: exit at once at this follow-up boundary (before:<stage>, before:ack), once",
    )
    drill_crash_marker: Path | None = Field(
        default=None, description="drills only: the file that makes drill_crash_at happen once"
    )
    case_action_clock_skew_s: float = Field(
        default=300.0,
        ge=0,
        description="how far a station's case action may be stamped in the future, or before its case opened",
    )

    @field_validator("visit_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        _zone_or_error(value)
        return value

    @field_validator("station_timezones")
    @classmethod
    def _known_zones(cls, value: dict[str, str]) -> dict[str, str]:
        for zone in value.values():
            _zone_or_error(zone)
        return value

    def influx_settings(self) -> Any:
        """The writer's :class:`gateway.influx.InfluxSettings` built from these fields."""
        from gateway.influx.transport import InfluxSettings

        def secret(value: SecretStr | None) -> str | None:
            return value.get_secret_value() if value is not None else None

        values: dict[str, Any] = {
            "version": self.influx_version,
            "url": self.influx_url,
            "database": self.influx_database,
            "username": self.influx_username,
            "password": secret(self.influx_password),
            "retention_policy": self.influx_retention_policy,
            "org": self.influx_org,
            "bucket": self.influx_bucket,
            "token": secret(self.influx_token),
            "timeout_s": self.influx_timeout_s,
            "gzip": self.influx_gzip,
        }
        known = set(InfluxSettings.model_fields)
        chosen = {k: v for k, v in values.items() if k in known and v is not None}
        return InfluxSettings.model_validate(chosen)


def load(config: Path | None = None) -> GatewaySettings:
    """Settings from ``config`` (or FRAILWATCH_GATEWAY_CONFIG) and the environment."""
    return load_settings(GatewaySettings, config)


def _zone_or_error(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as Asia/Seoul)") from None
