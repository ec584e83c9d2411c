"""A typed raw-InfluxQL dataquery for the Grafana Foundation SDK.

The SDK (0.0.21) ships no InfluxDB query type, so this follows its custom-query-type pattern: a
``cogvariants.Dataquery`` model with ``to_json``/``from_json``, a builder, and a runtime
registration so dashboards written here load back into typed objects. Raw InfluxQL (not Flux) is
the common ground of InfluxDB 1.x, 2.x (DBRP) and 3.x (architecture: "Scale").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.common import DataSourceRef

DATASOURCE_TYPE = "influxdb"
DATASOURCE_UID = "frailwatch-influxdb"


class ResultFormat(StrEnum):
    TIME_SERIES = "time_series"
    TABLE = "table"


def datasource_ref() -> DataSourceRef:
    """The provisioned FrailWatch InfluxDB datasource (uid fixed in provisioning)."""
    return DataSourceRef(type_val=DATASOURCE_TYPE, uid=DATASOURCE_UID)


@dataclass(frozen=True)
class AnnotationColumns:
    """For an annotation target: which result columns Grafana's InfluxDB plugin turns into the
    annotation's text and tags (its migrated annotation format keeps them on the target)."""

    text_column: str
    tags_column: str  # comma-separated column names

    def to_json(self) -> dict[str, object]:
        return {"fromAnnotations": True, "textColumn": self.text_column, "tagsColumn": self.tags_column}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnnotationColumns:
        return cls(text_column=str(data.get("textColumn", "")), tags_column=str(data.get("tagsColumn", "")))


class InfluxQLQuery(cogvariants.Dataquery):
    """One raw InfluxQL target as Grafana's InfluxDB datasource stores it."""

    def __init__(
        self,
        ref_id: str = "A",
        query: str = "",
        result_format: ResultFormat = ResultFormat.TIME_SERIES,
        alias: str | None = None,
        hide: bool | None = None,
        datasource: DataSourceRef | None = None,
        annotation: AnnotationColumns | None = None,
    ) -> None:
        self.ref_id = ref_id
        self.query = query
        self.result_format = result_format
        self.alias = alias
        self.hide = hide
        self.datasource = datasource
        self.annotation = annotation

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "refId": self.ref_id,
            "query": self.query,
            "rawQuery": True,
            "resultFormat": str(self.result_format),
        }
        if self.alias is not None:
            out["alias"] = self.alias
        if self.hide is not None:
            out["hide"] = self.hide
        if self.datasource is not None:
            out["datasource"] = self.datasource.to_json()
        if self.annotation is not None:
            out.update(self.annotation.to_json())
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        if not data.get("rawQuery", False):
            raise ValueError("only raw InfluxQL targets are supported (rawQuery must be true)")
        datasource = data.get("datasource")
        return cls(
            ref_id=str(data.get("refId", "A")),
            query=str(data["query"]),
            result_format=ResultFormat(data.get("resultFormat", ResultFormat.TIME_SERIES)),
            alias=data.get("alias"),
            hide=data.get("hide"),
            datasource=DataSourceRef.from_json(datasource) if isinstance(datasource, dict) else None,
            annotation=AnnotationColumns.from_json(data) if data.get("fromAnnotations") else None,
        )


class InfluxQL(cogbuilder.Builder[InfluxQLQuery]):
    """Builder in the SDK's style: ``InfluxQL(q).ref_id("B").table()``."""

    def __init__(self, query: str) -> None:
        self._internal = InfluxQLQuery(query=query, datasource=datasource_ref())

    def build(self) -> InfluxQLQuery:
        return self._internal

    def ref_id(self, ref_id: str) -> Self:
        self._internal.ref_id = ref_id
        return self

    def alias(self, alias: str) -> Self:
        self._internal.alias = alias
        return self

    def table(self) -> Self:
        self._internal.result_format = ResultFormat.TABLE
        return self

    def hide(self, hide: bool) -> Self:
        self._internal.hide = hide
        return self

    def annotation(self, text_column: str, tags_column: str) -> Self:
        self._internal.annotation = AnnotationColumns(text_column, tags_column)
        return self


def register() -> None:
    """Make the SDK's JSON decoder turn ``{"datasource": {"type": "influxdb"}}`` targets into ours."""
    cogruntime.register_dataquery_variant(
        cogruntime.DataqueryConfig(identifier=DATASOURCE_TYPE, from_json_hook=InfluxQLQuery.from_json)
    )
