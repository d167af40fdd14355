"""The Vega-Lite chart templates of the site: the only module that imports altair.

Altair's ``to_dict`` costs tens of milliseconds a call, so the site never makes a spec
per run: :func:`chart_specs` makes one template per chart kind, once per build, and
``assets/chart-specs.js`` hands them to the pages. Every template reads the named,
empty dataset ``"table"``; the page script puts its rows in (``data: {name: "table",
values: rows}`` on a copy of the spec, or ``view.data("table", rows)``). The row shape
of each kind is documented in ``docs/SITE.md`` ("Charts") and in :data:`ROW_FIELDS`.

The templates are plain Vega-Lite with no URL other than ``$schema`` and no inline data,
and the same bytes come out of every build.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from generator.jsdata import script_call

if TYPE_CHECKING:
    import altair as alt

#: The Vega-Lite that the site ships (``themes/default/static/vendor/vega-lite.min.js``).
#: Every template says so in ``$schema``, whichever Altair wrote it.
VEGA_LITE_VERSION = "6.4.1"
SCHEMA_URL = f"https://vega.github.io/schema/vega-lite/v{VEGA_LITE_VERSION}.json"

#: The dataset every template reads; the page fills it in.
DATASET = "table"

#: The fields of one row of ``"table"`` for each chart kind (``?`` marks an optional one).
ROW_FIELDS: dict[str, tuple[str, ...]] = {
    "history": ("step", "time", "value", "nonfinite?"),
    "history_time": ("step", "time", "value", "nonfinite?"),
    "overlay": ("run", "step", "time", "value"),
    "overlay_time": ("run", "step", "time", "value"),
    "metric_across_runs": ("run", "run_id", "value"),
    "scatter": ("run", "run_id", "x", "y"),
    "scatter_nominal": ("run", "run_id", "x", "y"),
    "parallel": ("run", "run_id", "dimension", "value", "norm", "metric"),
}

_HEIGHT = 240
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_NUMBER_FORMAT = ".6~g"
_NONFINITE_COLOR = "#d62728"
_PAD = 12  # pixels between the outermost points and the plot's edge


def chart_specs() -> dict[str, dict[str, Any]]:
    """One Vega-Lite spec per chart kind (the keys of :data:`ROW_FIELDS`)."""
    charts: dict[str, alt.Chart | alt.LayerChart] = {
        "history": _history(time_axis=False),
        "history_time": _history(time_axis=True),
        "overlay": _overlay(time_axis=False),
        "overlay_time": _overlay(time_axis=True),
        "metric_across_runs": _metric_across_runs(),
        "scatter": _scatter(nominal=False),
        "scatter_nominal": _scatter(nominal=True),
        "parallel": _parallel(),
    }
    return {kind: _finish(chart.to_dict()) for kind, chart in charts.items()}


def chart_specs_js() -> str:
    """The text of ``assets/chart-specs.js``: ``MLTRAIL.chartSpecs({...});``."""
    return script_call("MLTRAIL.chartSpecs", chart_specs())


def _finish(spec: dict[str, Any]) -> dict[str, Any]:
    spec["$schema"] = SCHEMA_URL
    # Instead of Altair's default config (a 300x300 view): no frame around the plot.
    spec["config"] = {"view": {"stroke": None}}
    return spec


def _x_axis(time_axis: bool) -> alt.X:
    import altair as alt

    if time_axis:
        return alt.X("time:T", title="time")
    return alt.X("step:Q", title="step")


def _point_tooltip(*extra: alt.Tooltip) -> list[alt.Tooltip]:
    import altair as alt

    return [
        *extra,
        alt.Tooltip("step:Q", title="step"),
        alt.Tooltip("time:T", title="time", format=_TIME_FORMAT),
        alt.Tooltip("value:Q", title="value", format=_NUMBER_FORMAT),
    ]


def _history(*, time_axis: bool) -> alt.LayerChart:
    """One metric of one run: a line, the nearest point on hover, non-finite points as rules."""
    import altair as alt

    data = alt.NamedData(name=DATASET)
    x = _x_axis(time_axis)
    y = alt.Y("value:Q", title=None, scale=alt.Scale(zero=False))
    hover = alt.selection_point(
        name="hover",
        nearest=True,
        on="pointerover",
        clear="pointerout",
        encodings=["x"],
        empty=False,
    )
    line = alt.Chart(data).mark_line().encode(x=x, y=y)
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=50)
        .encode(
            x=x,
            y=y,
            opacity=alt.condition(hover, alt.value(1), alt.value(0)),
            tooltip=_point_tooltip(),
        )
        .add_params(hover)
        .properties(name="points")
    )
    nonfinite = (
        alt.Chart(data)
        .transform_filter("isValid(datum.nonfinite)")
        .mark_rule(color=_NONFINITE_COLOR, strokeDash=[4, 3])
        .encode(
            x=x,
            tooltip=[
                alt.Tooltip("step:Q", title="step"),
                alt.Tooltip("time:T", title="time", format=_TIME_FORMAT),
                alt.Tooltip("nonfinite:N", title="value"),
            ],
        )
    )
    return alt.LayerChart(layer=[line, points, nonfinite], width="container", height=_HEIGHT)


def _overlay(*, time_axis: bool) -> alt.LayerChart:
    """One metric of several runs, a colored line per run, the nearest point on hover."""
    import altair as alt

    data = alt.NamedData(name=DATASET)
    x = _x_axis(time_axis)
    y = alt.Y("value:Q", title=None, scale=alt.Scale(zero=False))
    color = alt.Color(
        "run:N",
        sort=None,
        scale=alt.Scale(scheme="tableau10"),
        legend=alt.Legend(title=None, orient="bottom", columns=3, labelLimit=240),
    )
    hover = alt.selection_point(
        name="hover", nearest=True, on="pointerover", clear="pointerout", empty=False
    )
    line = alt.Chart(data).mark_line().encode(x=x, y=y, color=color)
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=50)
        .encode(
            x=x,
            y=y,
            color=color,
            opacity=alt.condition(hover, alt.value(1), alt.value(0)),
            tooltip=_point_tooltip(alt.Tooltip("run:N", title="run")),
        )
        .add_params(hover)
        .properties(name="points")
    )
    return alt.LayerChart(layer=[line, points], width="container", height=_HEIGHT)


def _metric_across_runs() -> alt.Chart:
    """One metric's value per run, one row per run in the order of the rows given."""
    import altair as alt

    hover = alt.selection_point(
        name="hover", on="pointerover", clear="pointerout", fields=["run_id"], empty=False
    )
    return (
        alt.Chart(alt.NamedData(name=DATASET))
        .mark_point(filled=True)
        .encode(
            x=alt.X("value:Q", title="metric", scale=alt.Scale(zero=False, padding=_PAD)),
            y=alt.Y("run:N", sort=None, title=None, axis=alt.Axis(labelLimit=240)),
            size=alt.condition(hover, alt.value(140), alt.value(60)),
            tooltip=[
                alt.Tooltip("run:N", title="run"),
                alt.Tooltip("run_id:N", title="id"),
                alt.Tooltip("value:Q", title="value", format=_NUMBER_FORMAT),
            ],
        )
        .add_params(hover)
        .properties(
            width="container",
            height=alt.Step(20),
            # Only the width follows the page; the height grows with the number of runs.
            autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
        )
    )


def _scatter(*, nominal: bool) -> alt.Chart:
    """A param (x) against a metric (y), one point per run."""
    import altair as alt

    if nominal:
        x = alt.X(
            "x:N",
            title="param",
            sort="ascending",
            scale=alt.Scale(type="band"),
            axis=alt.Axis(labelAngle=0),
        )
        x_tip = alt.Tooltip("x:N", title="param")
    else:
        x = alt.X("x:Q", title="param", scale=alt.Scale(zero=False, padding=_PAD))
        x_tip = alt.Tooltip("x:Q", title="param", format=_NUMBER_FORMAT)
    hover = alt.selection_point(
        name="hover", on="pointerover", clear="pointerout", fields=["run_id"], empty=False
    )
    encoding: dict[str, Any] = {
        "x": x,
        "y": alt.Y("y:Q", title="metric", scale=alt.Scale(zero=False, padding=_PAD)),
        "size": alt.condition(hover, alt.value(140), alt.value(60)),
        "tooltip": [
            alt.Tooltip("run:N", title="run"),
            x_tip,
            alt.Tooltip("y:Q", title="metric", format=_NUMBER_FORMAT),
        ],
    }
    if nominal:
        # Spread the runs of one category across its band, the same way every time.
        encoding["xOffset"] = alt.XOffset("run_id:N")
    return (
        alt.Chart(alt.NamedData(name=DATASET))
        .mark_point(filled=True, opacity=0.7)
        .encode(**encoding)
        .add_params(hover)
        .properties(width="container", height=_HEIGHT)
    )


def _parallel() -> alt.LayerChart:
    """Parallel coordinates: a line per run across its params, the metric's axis last."""
    import altair as alt

    data = alt.NamedData(name=DATASET)
    x = alt.X(
        "dimension:N",
        sort=None,
        title=None,
        axis=alt.Axis(
            orient="top", domain=False, ticks=False, grid=True, labelAngle=0, labelLimit=140
        ),
    )
    y = alt.Y(
        "norm:Q", axis=None, scale=alt.Scale(domain=[0, 1], nice=False, zero=False, padding=_PAD)
    )
    hover = alt.selection_point(
        name="hover", on="pointerover", clear="pointerout", fields=["run_id"]
    )
    lines = (
        alt.Chart(data)
        .mark_line(strokeWidth=1.5)
        .encode(
            x=x,
            y=y,
            detail="run_id:N",
            color=alt.Color(
                "metric:Q", scale=alt.Scale(scheme="viridis"), legend=alt.Legend(title=None)
            ),
            opacity=alt.condition(hover, alt.value(0.9), alt.value(0.15)),
            tooltip=[
                alt.Tooltip("run:N", title="run"),
                alt.Tooltip("metric:Q", title="metric", format=_NUMBER_FORMAT),
            ],
        )
        .add_params(hover)
        .properties(name="lines")
    )
    # Tick labels: each axis's lowest and highest value, and every category of a
    # categorical (string-valued) dimension, once each.
    labels = (
        alt.Chart(data)
        .transform_joinaggregate(lo="min(norm)", hi="max(norm)", groupby=["dimension"])
        .transform_filter(
            "isValid(datum.norm) && (datum.norm === datum.lo || datum.norm === datum.hi"
            " || isString(datum.value))"
        )
        .transform_window(rank="row_number()", groupby=["dimension", "norm"])
        .transform_filter("datum.rank === 1")
        .transform_calculate(
            label=f"isString(datum.value) ? datum.value : format(datum.value, '{_NUMBER_FORMAT}')"
        )
        .mark_text(align="left", dx=4, fontSize=10)
        .encode(x=x, y=y, text="label:N")
    )
    return alt.LayerChart(layer=[lines, labels], width="container", height=280)
