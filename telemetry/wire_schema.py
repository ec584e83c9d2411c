"""JSON Schema of every wire message, for device vendors and other-language clients."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from telemetry.batch import MessageBatch
from telemetry.cases import CaseEvent
from telemetry.devices import MESSAGE_TYPES
from telemetry.events import DeadLetter
from telemetry.station import Heartbeat, StationStatus

PLATFORM_MESSAGES: dict[str, type[BaseModel]] = {
    "batch": MessageBatch,
    "heartbeat": Heartbeat,
    "station_status": StationStatus,
    "dead_letter": DeadLetter,
    "case_event": CaseEvent,
}


def message_schemas() -> dict[str, dict[str, object]]:
    """Name → JSON Schema (draft 2020-12) for each device kind and platform message."""
    schemas: dict[str, dict[str, object]] = {}
    models: dict[str, type[BaseModel]] = {kind.value: model for kind, model in MESSAGE_TYPES.items()}
    models.update(PLATFORM_MESSAGES)
    for name, model in models.items():
        schema = model.model_json_schema(mode="validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"frailwatch/v1/{name}.schema.json"
        schemas[name] = schema
    return schemas


def export(directory: Path) -> list[Path]:
    """Write ``<name>.schema.json`` for every message into ``directory``; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in message_schemas().items():
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written
