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

from .jsdata import script_call

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
_FEW_POINTS = 50  # a line of at most this many points shows them all (one point: no line)
_ROW_HEIGHT = 20  # metric_across_runs: pixels per run (the page sets the height)


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


def _number_labels(scale: str) -> str:
    """An axis ``labelExpr`` for a numeric scale: Vega's labels, made sensible at the edges.

    A scale of one value (a single point) would get six decimals (``0.000000``): it gets
    the value as it is. A large range (``1e3`` and up) gets SI labels (``1.5k``, ``2M``),
    unless the range is narrow for its size, where the digits matter.
    """
    lo, hi = f"domain('{scale}')[0]", f"domain('{scale}')[1]"
    big = f"max(abs({lo}), abs({hi}))"
    return (
        f"{lo} === {hi} ? format(datum.value, '{_NUMBER_FORMAT}')"
        f" : {big} >= 1000 && abs({hi} - {lo}) >= {big} / 10 ? format(datum.value, '.4~s')"
        " : datum.label"
    )


def _number_axis(scale: str, **kwargs: Any) -> alt.Axis:
    """A numeric axis with :func:`_number_labels`; on x, about one tick per 80 pixels."""
    import altair as alt

    if scale == "x":
        kwargs.setdefault("tickCount", alt.ExprRef(expr="ceil(width / 80)"))
    return alt.Axis(labelExpr=_number_labels(scale), **kwargs)


def _x_axis(time_axis: bool, *, domain_from_table: bool = False) -> alt.X:
    """Step (integer ticks, about one per 80 px) or time on x.

    ``domain_from_table``: the scale spans the table's steps or times, so that a layer
    drawing a subset of the rows (non-finite markers, often none) adds nothing to it
    (an empty layer's extent is infinite, and Vega warns).
    """
    import altair as alt

    field = "time" if time_axis else "step"
    # Steps need not start at 0 (a resumed run); a time scale has no zero to leave out.
    scale: dict[str, Any] = {} if time_axis else {"zero": False}
    if domain_from_table:
        rows = f"data('{DATASET}')"
        extent = f"length({rows}) ? extent(pluck({rows}, '{field}')) : [0, 1]"
        scale["domain"] = alt.ExprRef(expr=extent)
    if time_axis:
        # Under a second (one point, or points logged at once), Vega's labels are bare
        # milliseconds (".800"): give the time of day too.
        lo, hi = "domain('x')[0]", "domain('x')[1]"
        labels = f"abs({hi} - {lo}) < 1000 ? timeFormat(datum.value, '%H:%M:%S.%L') : datum.label"
        axis = alt.Axis(labelExpr=labels)
        return alt.X("time:T", title="time", scale=alt.Scale(**scale), axis=axis)
    axis = _number_axis("x", tickMinStep=1)
    return alt.X("step:Q", title="step", scale=alt.Scale(**scale), axis=axis)


def _y_value() -> alt.Y:
    import altair as alt

    return alt.Y("value:Q", title=None, scale=alt.Scale(zero=False), axis=_number_axis("y"))


def _point_opacity() -> dict[str, Any]:
    """Opaque when hovered, or always when the line has few points (``n``), else hidden."""
    return {
        "condition": [
            {"param": "hover", "empty": False, "value": 1},
            {"test": f"datum.n <= {_FEW_POINTS}", "value": 1},
        ],
        "value": 0,
    }


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
    x = _x_axis(time_axis, domain_from_table=True)
    y = _y_value()
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
        .transform_joinaggregate(n="count()")
        .mark_point(filled=True, size=50)
        .encode(x=x, y=y, opacity=_point_opacity(), tooltip=_point_tooltip())
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
    y = _y_value()
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
        .transform_joinaggregate(n="count()", groupby=["run"])
        .mark_point(filled=True, size=50)
        .encode(
            x=x,
            y=y,
            color=color,
            opacity=_point_opacity(),
            tooltip=_point_tooltip(alt.Tooltip("run:N", title="run")),
        )
        .add_params(hover)
        .properties(name="points")
    )
    return alt.LayerChart(layer=[line, points], width="container", height=_HEIGHT)


def _metric_across_runs() -> alt.Chart:
    """One metric's value per run, one row per run in the order of the rows given.

    The height is a number (the page sets ``_ROW_HEIGHT`` pixels per run): a height by
    step beside a container width makes Vega-Lite warn that it drops ``fit-y``.
    """
    import altair as alt

    hover = alt.selection_point(
        name="hover", on="pointerover", clear="pointerout", fields=["run_id"], empty=False
    )
    return (
        alt.Chart(alt.NamedData(name=DATASET))
        .mark_point(filled=True, opacity=0.85)
        .encode(
            x=alt.X(
                "value:Q",
                title="metric",
                scale=alt.Scale(zero=False, padding=_PAD),
                axis=_number_axis("x"),
            ),
            y=alt.Y("run:N", sort=None, title=None, axis=alt.Axis(labelLimit=240)),
            size=alt.condition(hover, alt.value(140), alt.value(60)),
            tooltip=[
                alt.Tooltip("run:N", title="run"),
                alt.Tooltip("run_id:N", title="id"),
                alt.Tooltip("value:Q", title="value", format=_NUMBER_FORMAT),
            ],
        )
        .add_params(hover)
        .properties(width="container", height=12 * _ROW_HEIGHT)
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
        x = alt.X(
            "x:Q", title="param", scale=alt.Scale(zero=False, padding=_PAD), axis=_number_axis("x")
        )
        x_tip = alt.Tooltip("x:Q", title="param", format=_NUMBER_FORMAT)
    hover = alt.selection_point(
        name="hover", on="pointerover", clear="pointerout", fields=["run_id"], empty=False
    )
    y_scale = alt.Scale(zero=False, padding=_PAD)
    encoding: dict[str, Any] = {
        "x": x,
        "y": alt.Y("y:Q", title="metric", scale=y_scale, axis=_number_axis("y")),
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
        .mark_point(filled=True, opacity=0.85)
        .encode(**encoding)
        .add_params(hover)
        .properties(width="container", height=_HEIGHT)
    )


#: A parallel axis's tick label: a category as it is, an integer in full (a seed, a
#: batch size: the digits are the point), any other number in six significant digits.
_PARALLEL_LABEL = (
    "isString(datum.value) ? datum.value"
    " : abs(datum.value) < 1e15 && datum.value === floor(datum.value) ? format(datum.value, 'd')"
    f" : format(datum.value, '{_NUMBER_FORMAT}')"
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
    # The pointer picks the run of the nearest dot; its line and dots stand out. (One
    # layer only: a selection over several layers gives Vega duplicate signals.)
    hover = alt.selection_point(
        name="hover", nearest=True, on="pointerover", clear="pointerout", fields=["run_id"]
    )
    color = alt.Color(
        "metric:Q",
        scale=alt.Scale(scheme="viridis"),
        legend=alt.Legend(title=None),
    )
    opacity = alt.condition(hover, alt.value(0.9), alt.value(0.15))
    tooltip = [
        alt.Tooltip("run:N", title="run"),
        alt.Tooltip("metric:Q", title="metric", format=_NUMBER_FORMAT),
    ]
    # A null norm (the run lacks that param) breaks the run's line there; a dashed line
    # over the values it has bridges the gap, so every run stays one path.
    bridges = (
        alt.Chart(data)
        .transform_filter("isValid(datum.norm)")
        .mark_line(strokeWidth=1, strokeDash=[3, 3])
        .encode(
            x=x,
            y=y,
            detail="run_id:N",
            color=color,
            opacity=alt.condition(hover, alt.value(0.7), alt.value(0.1)),
        )
    )
    lines = (
        alt.Chart(data)
        .mark_line(strokeWidth=1.5)
        .encode(x=x, y=y, detail="run_id:N", color=color, opacity=opacity, tooltip=tooltip)
        .properties(name="lines")
    )
    # A dot on every axis a run has a value on: a value between two gaps has no line.
    points = (
        alt.Chart(data)
        .transform_filter("isValid(datum.norm)")
        # Drawn as thick rings, so the color is a stroke in every layer: Vega gives a
        # legend for both stroke and fill symbols instead of a gradient.
        .mark_point(filled=False, size=12, strokeWidth=3)
        .encode(x=x, y=y, color=color, opacity=opacity, tooltip=tooltip)
        .add_params(hover)
        .properties(name="points")
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
        .transform_calculate(label=_PARALLEL_LABEL)
        .mark_text(align="left", dx=4, fontSize=10)
        .encode(x=x, y=y, text="label:N")
    )
    return alt.LayerChart(layer=[bridges, lines, points, labels], width="container", height=280)
