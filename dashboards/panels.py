"""Panel builders in the house style: every panel says in its description what it
answers, reads the InfluxDB data source, has a unit, and groups by at least one round."""

from collections.abc import Sequence

from grafana_foundation_sdk.builders import bargauge, stat, statetimeline, table, timeseries
from grafana_foundation_sdk.builders.common import (
    ReduceDataOptions,
    StackingConfig,
    TableSortByFieldState,
    VizLegendOptions,
)
from grafana_foundation_sdk.builders.dashboard import FieldColor, ThresholdsConfig
from grafana_foundation_sdk.models.common import (
    BarGaugeDisplayMode,
    BigValueColorMode,
    BigValueGraphMode,
    GraphDrawStyle,
    LegendDisplayMode,
    LegendPlacement,
    StackingMode,
    VisibilityMode,
    VizOrientation,
)
from grafana_foundation_sdk.models.dashboard import (
    DataTransformerConfig,
    DynamicConfigValue,
    FieldColorModeId,
)

from dashboards.influxql import InfluxQL, datasource
from dashboards.names import MIN_INTERVAL


def prop(id_: str, value: object) -> DynamicConfigValue:
    return DynamicConfigValue(id_val=id_, value=value)


def data_link(title: str, url: str) -> DynamicConfigValue:
    """A link on every value of a field; `url` may use `${__data.fields.<name>}`."""
    return prop("links", [{"title": title, "url": url}])


def transformation(id_: str, options: dict[str, object]) -> DataTransformerConfig:
    return DataTransformerConfig(id_val=id_, options=options)


def organize(
    order: Sequence[str], rename: dict[str, str], exclude: Sequence[str] = ("Time",)
) -> DataTransformerConfig:
    """Columns in `order`, renamed; `exclude` left out."""
    return transformation(
        "organize",
        {
            "indexByName": {name: i for i, name in enumerate(order)},
            "renameByName": rename,
            "excludeByName": dict.fromkeys(exclude, True),
        },
    )


def _by_thresholds() -> FieldColor:
    return FieldColor().mode(FieldColorModeId.THRESHOLDS)


def _by_series() -> FieldColor:
    return FieldColor().mode(FieldColorModeId.PALETTE_CLASSIC)


def timeseries_panel(
    title: str,
    description: str,
    unit: str,
    targets: Sequence[InfluxQL],
    *,
    bars: bool = False,
    stacked: bool = False,
) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(datasource())
        .interval(MIN_INTERVAL)
        .targets(list(targets))
        .unit(unit)
        .color_scheme(_by_series())
        .draw_style(GraphDrawStyle.BARS if bars else GraphDrawStyle.LINE)
        .line_width(1 if bars else 2)
        .fill_opacity(80 if bars else 10)
        .stacking(StackingConfig().mode(StackingMode.NORMAL if stacked else StackingMode.NONE))
        .legend(
            VizLegendOptions()
            .show_legend(True)
            .display_mode(LegendDisplayMode.LIST)
            .placement(LegendPlacement.BOTTOM)
        )
    )


def stat_panel(
    title: str,
    description: str,
    unit: str,
    target: InfluxQL,
    thresholds: ThresholdsConfig,
    *,
    no_value: str,
) -> stat.Panel:
    """One number, its background coloured by `thresholds`; `no_value` when no row."""
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(datasource())
        .interval(MIN_INTERVAL)
        .with_target(target)
        .unit(unit)
        .decimals(0)
        .no_value(no_value)
        .thresholds(thresholds)
        .color_scheme(_by_thresholds())
        .color_mode(BigValueColorMode.BACKGROUND)
        .graph_mode(BigValueGraphMode.NONE)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )


def table_panel(
    title: str,
    description: str,
    targets: Sequence[InfluxQL],
    *,
    sort_by: str,
    descending: bool = True,
) -> table.Panel:
    return (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(datasource())
        .interval(MIN_INTERVAL)
        .targets(list(targets))
        .sort_by([TableSortByFieldState().display_name(sort_by).desc(descending)])
    )


def state_timeline_panel(
    title: str, description: str, targets: Sequence[InfluxQL]
) -> statetimeline.Panel:
    """One row per series; the colour comes from value mappings or thresholds."""
    return (
        statetimeline.Panel()
        .title(title)
        .description(description)
        .datasource(datasource())
        .interval(MIN_INTERVAL)
        .targets(list(targets))
        .color_scheme(_by_thresholds())
        .show_value(VisibilityMode.NEVER)
        .merge_values(True)
        .row_height(0.9)
        .fill_opacity(80)
        .legend(VizLegendOptions().show_legend(True).display_mode(LegendDisplayMode.LIST))
    )


def bar_gauge_panel(
    title: str,
    description: str,
    unit: str,
    target: InfluxQL,
    thresholds: ThresholdsConfig,
) -> bargauge.Panel:
    """One horizontal bar per series, coloured by `thresholds`."""
    return (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(datasource())
        .interval(MIN_INTERVAL)
        .with_target(target)
        .unit(unit)
        .min(0)
        .thresholds(thresholds)
        .color_scheme(_by_thresholds())
        .display_mode(BarGaugeDisplayMode.BASIC)
        .orientation(VizOrientation.HORIZONTAL)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )


def cell_colour_by_value() -> DynamicConfigValue:
    """A table column whose cells take the colour of their value (thresholds, mappings)."""
    return prop("custom.cellOptions", {"type": "color-background", "mode": "basic"})


def cell_colour_text() -> DynamicConfigValue:
    return prop("custom.cellOptions", {"type": "color-text"})


def cell_gauge() -> DynamicConfigValue:
    return prop("custom.cellOptions", {"type": "gauge", "mode": "basic"})
