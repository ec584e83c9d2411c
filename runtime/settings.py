"""Settings shared by the long-running roles (edge agent, gateway): each role's fields are
``<PREFIX><FIELD>`` environment variables, which win over the TOML file named by ``--config`` or
by ``<PREFIX>CONFIG``. pydantic-settings only, so the edge box stays light."""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import TypeVar

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, TomlConfigSettingsSource

# The --config file of the load() in progress: pydantic-settings builds the sources in a classmethod,
# so the path travels beside the call rather than through it.
_config_file: ContextVar[Path | None] = ContextVar("frailwatch_config_file", default=None)


class RoleSettings(BaseSettings):
    """Base of each role's settings model; subclasses set ``env_prefix``."""

    @classmethod
    def config_env(cls) -> str:
        """The variable naming the TOML file, e.g. ``FRAILWATCH_EDGE_CONFIG``."""
        return f"{cls.model_config.get('env_prefix', '')}CONFIG"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = _config_file.get() or os.environ.get(cls.config_env())
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


Settings = TypeVar("Settings", bound=RoleSettings)


def load_settings(model: type[Settings], config: Path | None = None) -> Settings:
    """``model`` from the environment and ``config`` (or the file its CONFIG variable names)."""
    token = _config_file.set(config)
    try:
        return model()
    finally:
        _config_file.reset(token)
