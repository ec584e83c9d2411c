"""Panel and variable builders shared by the dashboards: one place for units, thresholds, legends."""

from __future__ import annotations

from collections.abc import Sequence

from grafana_foundation_sdk.builders import barchart, histogram, stat, table, timeseries
from grafana_foundation_sdk.builders.common import GraphThresholdsStyleConfig, VizLegendOptions
from grafana_foundation_sdk.builders.dashboard import IntervalVariable, QueryVariable, ThresholdsConfig
from grafana_foundation_sdk.models.common import (
    GraphDrawStyle,
    GraphThresholdsStyleMode,
    LegendDisplayMode,
    LegendPlacement,
    StackingMode,
    VisibilityMode,
)
from grafana_foundation_sdk.models.dashboard import (
    Threshold,
    ThresholdsMode,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

from grafana.cutoffs import Cutoff
from grafana.influxql import InfluxQL, datasource_ref

GOOD, BAD, NEUTRAL = "green", "red", "text"


def legend() -> VizLegendOptions:
    """Series are named by station (or gateway, reason): the legend says which line is which."""
    return (
        VizLegendOptions()
        .show_legend(True)
        .display_mode(LegendDisplayMode.LIST)
        .placement(LegendPlacement.BOTTOM)
    )


def cutoff_thresholds(*cutoffs: Cutoff) -> ThresholdsConfig:
    """Colour steps at clinical cut-offs: red on the side where the value is a concern."""
    if not cutoffs:
        return ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps([Threshold(None, NEUTRAL)])
    below_is_bad = cutoffs[0].below_is_bad
    steps = [Threshold(None, BAD if below_is_bad else GOOD)]
    for cutoff in sorted(cutoffs, key=lambda c: c.value):
        steps.append(Threshold(cutoff.value, GOOD if below_is_bad else BAD))
    return ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps)


def plain_thresholds(limit: float | None = None) -> ThresholdsConfig:
    steps = [Threshold(None, GOOD)] + ([Threshold(limit, BAD)] if limit is not None else [])
    return ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps)


def trend(
    title: str,
    description: str,
    query: str,
    unit: str,
    *cutoffs: Cutoff,
    points: bool = False,
    alias: str = "$tag_station_id",
) -> timeseries.Panel:
    """A time series with the cut-offs drawn as dashed lines."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(datasource_ref())
        .with_target(InfluxQL(query).alias(alias))
        .unit(unit)
        .legend(legend())
        .thresholds(cutoff_thresholds(*cutoffs))
        .thresholds_style(
            GraphThresholdsStyleConfig().mode(
                GraphThresholdsStyleMode.DASHED if cutoffs else GraphThresholdsStyleMode.OFF
            )
        )
        .span(12)
        .height(8)
    )
    if points:
        panel = panel.draw_style(GraphDrawStyle.LINE).show_points(VisibilityMode.ALWAYS).point_size(7)
    return panel


def series(
    title: str, description: str, query: str, unit: str, alias: str, limit: float | None = None
) -> timeseries.Panel:
    """An operational time series, optionally with an alert limit drawn."""
    return (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(datasource_ref())
        .with_target(InfluxQL(query).alias(alias))
        .unit(unit)
        .legend(legend())
        .thresholds(plain_thresholds(limit))
        .thresholds_style(
            GraphThresholdsStyleConfig().mode(
                GraphThresholdsStyleMode.LINE if limit is not None else GraphThresholdsStyleMode.OFF
            )
        )
        .span(12)
        .height(8)
    )


def status(title: str, description: str, query: str, unit: str, alias: str) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(datasource_ref())
        .with_target(InfluxQL(query).alias(alias))
        .unit(unit)
        .thresholds(
            ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps([Threshold(None, BAD), Threshold(1, GOOD)])
        )
        .span(12)
        .height(6)
    )


def grid(title: str, description: str, query: str, width: int = 24) -> table.Panel:
    return (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(datasource_ref())
        .with_target(InfluxQL(query).table())
        .span(width)
        .height(8)
    )


def distribution(
    title: str, description: str, query: str, unit: str, *cutoffs: Cutoff, alias: str = "$tag_station_id"
) -> histogram.Panel:
    return (
        histogram.Panel()
        .title(title)
        .description(description)
        .datasource(datasource_ref())
        .with_target(InfluxQL(query).alias(alias))
        .unit(unit)
        .legend(legend())
        .thresholds(cutoff_thresholds(*cutoffs))
        .span(12)
        .height(8)
    )


def stacked_bars(
    title: str, description: str, query: str, alias: str, percent: bool = False
) -> barchart.Panel:
    return (
        barchart.Panel()
        .title(title)
        .description(description)
        .datasource(datasource_ref())
        .with_target(InfluxQL(query).alias(alias))
        .stacking(StackingMode.PERCENT if percent else StackingMode.NORMAL)
        .legend(legend())
        .unit("percentunit" if percent else "short")
        .span(24 if percent else 12)
        .height(8)
    )


# --- template variables ---------------------------------------------------------------------


def station_variable(label: str, query: str) -> QueryVariable:
    return (
        QueryVariable("station")
        .label(label)
        .datasource(datasource_ref())
        .query(query)
        .definition(query)
        .multi(True)
        .include_all(True)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )


def pseudonym_variable(label: str, query: str) -> QueryVariable:
    return (
        QueryVariable("pseudonym")
        .label(label)
        .datasource(datasource_ref())
        .query(query)
        .definition(query)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )


INTERVALS: Sequence[str] = ("1h", "6h", "1d", "7d", "30d")


def interval_variable(label: str, default: str = "1d") -> IntervalVariable:
    return (
        IntervalVariable("interval")
        .label(label)
        .values(",".join(INTERVALS))
        .options([VariableOption(selected=i == default, text=i, value=i) for i in INTERVALS])
        .current(VariableOption(selected=True, text=default, value=default))
    )
