"""The charts of the real sample site in Chromium: drawn, quiet and offline.

The sample store's site (``sample_site``: built once with ``mltrail_generator.build_site``) is
opened from ``file://``. Every page must draw real marks into its charts, log no console
warning or error (Vega's "Infinite extent", Vega-Lite's "Dropping fit-y" ...) and
request nothing but ``file://`` URLs. One browser, one page load per case.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: Six decimals of nothing: what Vega writes for a scale of one value.
SIX_ZEROS = re.compile(r"\.0{6}$")
DARK_BG = "#0d1117"  # --mt-bg of the default theme's dark scheme
DARK_ACCENT = "#58a6ff"  # --mt-accent (one-color marks on a dark page)
DARK_MUTED = "#9ea7b3"  # --mt-muted (axis labels)


def luminance(color: str) -> float:
    """Relative luminance (WCAG) of ``#rrggbb`` or ``rgb(r, g, b)``."""
    if color.startswith("#"):
        parts = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    else:
        parts = [int(float(p)) for p in re.findall(r"[\d.]+", color)[:3]]
    linear = [
        c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in parts
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.fixture(scope="module")
def experiments(sample_site: Path) -> dict[str, dict[str, Any]]:
    """Each experiment's ``runs.js`` payload, by experiment name."""
    found = {}
    for data_file in sample_site.glob("experiments/*/runs.js"):
        text = data_file.read_text(encoding="utf-8")
        payload = json.loads(text[text.index("(") + 1 : text.rindex(")")])
        found[payload["name"]] = payload
    return found


def run_id(experiments: dict[str, dict[str, Any]], experiment: str, name: str) -> str:
    (found,) = [run["id"] for run in experiments[experiment]["runs"] if run["name"] == name]
    return str(found)


class Watched:
    """A page and what went wrong on it: console warnings and errors, page errors,
    failed requests and requests outside ``file://``."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda err: self.problems.append(f"page error: {err}"))
        page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        page.on("request", self._request)

    def _console(self, message: Any) -> None:
        if message.type in ("warning", "error"):
            self.problems.append(f"console {message.type}: {message.text}")

    def _request(self, request: Any) -> None:
        if not request.url.startswith("file://"):
            self.problems.append(f"request outside file://: {request.url}")

    def draw(self, selector: str, count: int) -> list[Any]:
        """Scroll each element of ``selector`` into view (charts load lazily) and wait
        until ``count`` of them hold a drawn chart."""
        page = self.page
        for element in page.locator(selector).all():
            element.scroll_into_view_if_needed()
        page.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length === n",
            arg=[f"{selector}[data-chart-kind] svg", count],
        )
        page.wait_for_timeout(100)  # a late warning would still be caught
        return page.locator(selector).all()


@pytest.fixture(scope="module")
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def open_page(context: Any, sample_site: Path) -> Iterator[Any]:
    """``open_page(path, query="", dark=False)`` -> a Watched page of the sample site."""
    pages: list[Any] = []

    def open_(path: str, query: str = "", dark: bool = False) -> Watched:
        page = context.new_page()
        pages.append(page)
        if dark:
            page.emulate_media(color_scheme="dark")
        watched = Watched(page)
        page.goto(sample_site.joinpath(path).as_uri() + query)
        return watched

    yield open_
    for page in pages:
        page.close()


def labels(chart: Any, axis: str) -> list[str]:
    """The tick labels of a chart's x or y axis."""
    return chart.locator(
        f".role-axis[aria-label^='{axis.upper()}-axis'] .role-axis-label text"
    ).all_text_contents()


def opacities(marks: Any) -> list[float]:
    values = marks.evaluate_all("els => els.map(e => e.getAttribute('opacity'))")
    return [1.0 if value is None else float(value) for value in values]


def test_single_point_metrics_show_their_point(open_page: Any, experiments: Any) -> None:
    run = run_id(experiments, "breast-cancer-classification", "brave-lynx-242")
    watched = open_page(f"runs/{run}/index.html")
    charts = watched.draw(".metric-chart", 8)
    for chart in charts:
        key = chart.get_attribute("data-metric")
        points = chart.locator(".mark-symbol.role-mark path")
        assert points.count() == 1, key
        assert opacities(points) == [1.0], key  # visible without hovering
        assert labels(chart, "x") == ["0"], key
        assert not any(SIX_ZEROS.search(label) for label in labels(chart, "y")), key
    # The time axis: one instant, shown as a time of day, not as ".300".
    watched.page.click('button[data-x="time"]')
    for chart in charts:
        chart.locator("svg").wait_for()
    watched.page.wait_for_function(
        "document.querySelectorAll('.metric-chart[data-chart-kind=\"history_time\"] svg')"
        ".length === 8"
    )
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}", labels(charts[0], "x")[0])
    assert watched.problems == []


def test_long_histories_with_nan_draw_lines_and_markers(open_page: Any, experiments: Any) -> None:
    run = run_id(experiments, "training-curves", "convnet-small-lr0.003")
    watched = open_page(f"runs/{run}/index.html")
    charts = {c.get_attribute("data-metric"): c for c in watched.draw(".metric-chart", 4)}
    for key, chart in charts.items():
        assert chart.locator(".mark-line.role-mark path").count() == 1, key
        assert "1k" in labels(chart, "x"), key  # SI steps, not "1,000" crowding the axis
        rules = chart.locator(".mark-rule.role-mark line").count()
        assert rules == (1 if key in ("train/loss", "val/loss") else 0), key  # the NaN
        # Points of a 700+ point line show on hover only.
        assert set(opacities(chart.locator(".mark-symbol.role-mark path"))) == {0.0}, key
    assert watched.problems == []


@pytest.mark.parametrize(
    ("experiment", "scatter_kind", "param", "param_title"),
    [
        # The scatter starts on a categorical param (model); then a numeric one over
        # three or more decades, on a log axis.
        ("breast-cancer-classification", "scatter_nominal", "C", "C (log scale)"),
        ("diabetes-regression", "scatter_nominal", "alpha", "alpha (log scale)"),
        # Parents (no train/loss) and children: the charts use the children.
        ("training-curves", "scatter", "learning_rate", "learning_rate"),
    ],
)
def test_experiment_charts_draw_every_run(
    open_page: Any,
    experiments: Any,
    experiment: str,
    scatter_kind: str,
    param: str,
    param_title: str,
) -> None:
    data = experiments[experiment]
    metric = data["primary_metric"]
    values = {
        run["name"]: run["metrics"][metric]
        for run in data["runs"]
        if type(run["metrics"].get(metric)) in (int, float)  # not missing, not "NaN"
    }
    watched = open_page(f"experiments/{data['id']}/index.html")
    across, scatter, parallel = watched.draw("#experiment-charts .mt-chart", 3)

    assert across.get_attribute("data-chart-kind") == "metric_across_runs"
    assert across.locator(".mark-symbol.role-mark path").count() == len(values)
    drawn = across.evaluate("el => el.mltrailChart.view.data('table').map((row) => row.run)")
    best_first = sorted(values, key=values.__getitem__, reverse=not data["lower_is_better"])
    assert drawn == best_first
    assert metric in across.locator(".role-axis-title").all_text_contents()[0]

    # The scatter starts with a param the runs of the metric have and that varies.
    assert scatter.get_attribute("data-chart-kind") == scatter_kind
    assert scatter.locator(".mark-symbol.role-mark path").count() >= 4
    assert parallel.get_attribute("data-chart-kind") == "parallel"
    assert parallel.locator(".mark-line.role-mark path").count() >= 2
    assert parallel.locator(".mark-symbol.role-mark path").count() >= 2 * len(values)
    assert parallel.locator(".mark-text.role-mark text").count() >= 4  # axis ends

    watched.page.select_option("#experiment-charts select >> nth=1", param)
    watched.page.wait_for_function(
        """(title) => {
            const chart = document.querySelectorAll('#experiment-charts .mt-chart')[1];
            return chart.dataset.chartKind === 'scatter' && Array.from(
                chart.querySelectorAll('.role-axis-title')).some((t) => t.textContent === title);
        }""",
        arg=param_title,
    )
    with_param = [r for r in data["runs"] if param in r["params"] and r["name"] in values]
    assert scatter.locator(".mark-symbol.role-mark path").count() == len(with_param)
    titles = scatter.locator(".role-axis-title").all_text_contents()
    assert set(titles) == {param_title, metric}
    if param_title.endswith("(log scale)"):  # ticks at the powers of ten only
        ticks = [float(label) for label in labels(scatter, "x")]
        assert len(ticks) >= 3 and all(math.log10(t).is_integer() for t in ticks), ticks
    assert watched.problems == []


def param_rows(page: Any) -> dict[str, bool]:
    """The compare page's params table: key -> whether it is marked as differing."""
    return dict(
        page.eval_on_selector_all(
            'table[data-table="params"] tbody tr',
            "trs => trs.map(tr => [tr.dataset.key, tr.classList.contains('mt-diff')])",
        )
    )


def test_compare_overlays_histories_and_marks_differences(open_page: Any, experiments: Any) -> None:
    a = run_id(experiments, "training-curves", "convnet-small-lr0.001")
    b = run_id(experiments, "training-curves", "mlp-4x256-lr0.001")
    watched = open_page("compare/index.html", query=f"?runs={a},{b}")
    watched.page.wait_for_selector("#compare-app:not([aria-busy])")
    assert param_rows(watched.page) == {
        "dropout": True,
        "layers": True,
        "learning_rate": False,
        "params_millions": True,
        "schedule": False,
        "seed": True,
        "warmup_steps": False,
        "width": True,
    }
    histories = watched.draw(".mt-compare-histories .mt-chart", 4)
    for chart in histories:
        assert chart.locator(".mark-line.role-mark path").count() == 2  # a line per run
    (parallel,) = watched.draw(".mt-compare-parallel .mt-chart", 1)
    # Axes for what differs only: dropout, layers, params_millions, seed, width, metric.
    assert parallel.get_attribute("data-rows") == "12"
    assert parallel.locator(".mark-line.role-mark path").count() >= 2
    assert watched.problems == []


def test_compare_of_single_point_metrics_shows_the_points(open_page: Any, experiments: Any) -> None:
    a = run_id(experiments, "breast-cancer-classification", "brave-lynx-242")
    b = run_id(experiments, "breast-cancer-classification", "lively-mole-746")
    watched = open_page("compare/index.html", query=f"?runs={a},{b}")
    watched.page.wait_for_selector("#compare-app:not([aria-busy])")
    for chart in watched.draw(".mt-compare-histories .mt-chart", 8):
        points = chart.locator(".mark-symbol.role-mark path")
        assert opacities(points) == [1.0, 1.0], chart.get_attribute("data-metric")
    assert watched.problems == []


def test_dark_mode_charts_are_readable(open_page: Any, experiments: Any) -> None:
    data = experiments["training-curves"]
    watched = open_page(f"experiments/{data['id']}/index.html", dark=True)
    across, _scatter, parallel = watched.draw("#experiment-charts .mt-chart", 3)
    fills = across.locator(".mark-symbol.role-mark path").evaluate_all(
        "els => els.map(e => e.getAttribute('fill'))"
    )
    assert set(fills) == {DARK_ACCENT}
    assert contrast(DARK_ACCENT, DARK_BG) >= 4.5
    label_fills = across.locator(".role-axis-label text").evaluate_all(
        "els => els.map(e => e.getAttribute('fill'))"
    )
    assert set(label_fills) == {DARK_MUTED}
    # The metric's colors (viridis) skip its near-black start on a dark page.
    strokes = parallel.locator(".mark-line.role-mark path").evaluate_all(
        "els => els.map(e => e.getAttribute('stroke'))"
    )
    assert strokes and min(contrast(s, DARK_BG) for s in strokes) >= 3
    texts = parallel.locator(".mark-text.role-mark text").evaluate_all(
        "els => els.map(e => e.getAttribute('fill'))"
    )
    assert texts and min(contrast(t, DARK_BG) for t in texts) >= 4.5

    run = run_id(experiments, "training-curves", "convnet-small-lr0.001")
    page = open_page(f"runs/{run}/index.html", dark=True)
    for chart in page.draw(".metric-chart", 4):
        stroke = chart.locator(".mark-line.role-mark path").get_attribute("stroke")
        assert stroke == DARK_ACCENT
    assert watched.problems == [] and page.problems == []
