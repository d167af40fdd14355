"""Every chart template renders in Chromium from file://, with the vendored libraries only."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import pytest

from mltrail_generator.gather.series import downsample
from mltrail_generator.output.charts import ROW_FIELDS, VEGA_LITE_VERSION, chart_specs_js
from mltrail_generator.output.jsdata import script_json

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "themes" / "default" / "static" / "vendor"
T0 = 1_700_000_000_000


def history_rows() -> list[dict[str, Any]]:
    """Rows the way the run page makes them from a ``data.js`` series."""
    values = [math.sin(i / 40) for i in range(3000)]
    values[1234] = math.nan
    values[2500] = math.inf
    series = downsample(range(3000), [T0 + 1000 * i for i in range(3000)], values, 200)
    rows: list[dict[str, Any]] = []
    points = zip(series.step, series.time, series.value, strict=True)
    for i, (step, time, value) in enumerate(points):
        row: dict[str, Any] = {"step": step, "time": time, "value": value}
        if i in series.nonfinite:
            row["nonfinite"] = series.nonfinite[i]
        rows.append(row)
    return rows


RUNS = [
    ("baseline", "a1", 0.01, "adam", 0.31),
    ("wide", "b2", 0.1, "sgd", 0.27),
    ("deep", "c3", 1.0, "adam", 0.35),
]

ROWS: dict[str, list[dict[str, Any]]] = {
    "history": history_rows(),
    "history_time": history_rows(),
    "overlay": [
        {"run": name, "step": s, "time": T0 + 1000 * s, "value": k + math.cos(s / 5)}
        for k, (name, *_rest) in enumerate(RUNS)
        for s in range(40)
    ],
    "metric_across_runs": [
        {"run": name, "run_id": rid, "value": metric}
        for name, rid, _a, _o, metric in sorted(RUNS, key=lambda r: r[4])
    ],
    "scatter": [{"run": n, "run_id": r, "x": a, "y": m} for n, r, a, _o, m in RUNS],
    "scatter_nominal": [{"run": n, "run_id": r, "x": o, "y": m} for n, r, _a, o, m in RUNS],
    "parallel": [
        {"run": name, "run_id": rid, "dimension": dim, "value": value, "norm": norm, "metric": m}
        for name, rid, alpha, opt, m in RUNS
        for dim, value, norm in (
            ("alpha", alpha, (alpha - 0.01) / 0.99),
            ("optimizer", opt, 0.0 if opt == "adam" else 1.0),
            ("rmse", m, (m - 0.27) / 0.08),
        )
    ],
}
ROWS["overlay_time"] = ROWS["overlay"]

# What must be drawn for each kind (CSS selector inside the chart → at least this many).
MARKS: dict[str, dict[str, int]] = {
    "history": {".mark-line path": 1, ".mark-symbol path": 150, ".mark-rule line": 2},
    "history_time": {".mark-line path": 1, ".mark-symbol path": 150, ".mark-rule line": 2},
    "overlay": {".mark-line path": 3, ".mark-symbol path": 120},
    "overlay_time": {".mark-line path": 3, ".mark-symbol path": 120},
    "metric_across_runs": {".mark-symbol path": 3},
    "scatter": {".mark-symbol path": 3},
    "scatter_nominal": {".mark-symbol path": 3},
    "parallel": {".mark-line path": 6, ".mark-symbol path": 9, ".mark-text text": 5},
}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>charts</title>
<style>.chart {{ width: 640px; }}</style>
<script>
var MLTRAIL = {{specs: null, chartSpecs: function (specs) {{ MLTRAIL.specs = specs; }}}};
</script>
<script src="assets/vendor/vega.min.js"></script>
<script src="assets/vendor/vega-lite.min.js"></script>
<script src="assets/vendor/vega-embed.min.js"></script>
<script src="assets/chart-specs.js"></script>
</head><body>
<script>
var ROWS = {rows};
var MODE = {mode};
window.DONE = Promise.all(Object.keys(MLTRAIL.specs).sort().map(function (kind) {{
  var el = document.createElement("div");
  el.className = "chart";
  el.id = "chart-" + kind;
  document.body.appendChild(el);
  var spec = MLTRAIL.specs[kind];
  if (MODE === "inline") {{
    spec = Object.assign({{}}, spec, {{data: {{name: "table", values: ROWS[kind]}}}});
  }}
  return vegaEmbed(el, spec, {{actions: false, renderer: "svg"}}).then(function (result) {{
    if (MODE === "view_data") return result.view.data("table", ROWS[kind]).runAsync();
    return result.view;
  }});
}})).then(function () {{ return "ok"; }}, function (err) {{ return String(err); }});
</script>
</body></html>
"""


def write_site(tmp_path: Path, mode: str) -> Path:
    shutil.copytree(VENDOR, tmp_path / "assets" / "vendor")
    (tmp_path / "assets" / "chart-specs.js").write_text(chart_specs_js(), encoding="utf-8")
    page = tmp_path / "charts.html"
    page.write_text(PAGE.format(rows=script_json(ROWS), mode=script_json(mode)), encoding="utf-8")
    return page


@pytest.mark.parametrize("mode", ["inline", "view_data"])
def test_every_chart_kind_renders_offline(browser: Any, tmp_path: Path, mode: str) -> None:
    assert set(ROWS) == set(MARKS) == set(ROW_FIELDS)
    page_file = write_site(tmp_path, mode)
    page = browser.new_page(viewport={"width": 900, "height": 800})
    messages: list[tuple[str, str]] = []
    requests: list[str] = []
    page.on("console", lambda m: messages.append((m.type, m.text)))
    page.on("pageerror", lambda e: messages.append(("pageerror", str(e))))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_file.as_uri())
    assert page.evaluate("window.DONE") == "ok"

    assert page.evaluate("vegaLite.version") == VEGA_LITE_VERSION
    for kind, selectors in MARKS.items():
        chart = page.locator(f"#chart-{kind}")
        assert chart.locator("svg").count() == 1, kind
        for selector, at_least in selectors.items():
            drawn = chart.locator(selector).count()
            assert drawn >= at_least, f"{kind}: {drawn} × {selector}"
    # The labels of the parallel axes: numeric ends and every category.
    labels = page.locator("#chart-parallel .mark-text text").all_text_contents()
    assert {"0.01", "1", "adam", "sgd", "0.27", "0.35"} <= set(labels)

    errors = [m for m in messages if m[0] in ("error", "pageerror")]
    assert not errors
    if mode == "inline":  # (view_data draws an empty chart first, and Vega warns)
        assert [text for kind, text in messages if kind == "warning"] == []
    assert requests and all(url.startswith("file://") for url in requests), requests
    page.close()


def test_hover_shows_a_tooltip(browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 900, "height": 800})
    page.goto(write_site(tmp_path, "inline").as_uri())
    assert page.evaluate("window.DONE") == "ok"
    box = page.locator("#chart-history svg").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(box["x"] + box["width"] / 2 + 5, box["y"] + box["height"] / 2)
    tooltip = page.locator("#vg-tooltip-element")
    tooltip.wait_for(state="visible", timeout=5000)
    assert "step" in tooltip.inner_text()
    page.close()


CASES_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>charts</title>
<style>.chart {{ width: 640px; }}</style>
<script>
var MLTRAIL = {{specs: null, chartSpecs: function (specs) {{ MLTRAIL.specs = specs; }}}};
</script>
<script src="assets/vendor/vega.min.js"></script>
<script src="assets/vendor/vega-lite.min.js"></script>
<script src="assets/vendor/vega-embed.min.js"></script>
<script src="assets/chart-specs.js"></script>
</head><body>
<script>
var CASES = {cases};
window.DONE = Promise.all(CASES.map(function (c) {{
  var el = document.createElement("div");
  el.className = "chart";
  el.id = c.id;
  document.body.appendChild(el);
  var data = {{name: "table", values: c.rows}};
  var spec = Object.assign({{}}, MLTRAIL.specs[c.kind], {{data: data}});
  return vegaEmbed(el, spec, {{actions: false, renderer: "svg"}});
}})).then(function () {{ return "ok"; }}, function (err) {{ return String(err); }});
</script>
</body></html>
"""


def axis_labels(page: Any, chart: str, axis: str) -> list[str]:
    """The tick labels of the x or y axis of chart ``#chart``."""
    role = "x" if axis == "x" else "y"
    return page.locator(
        f"#{chart} .role-axis[aria-label^='{role.upper()}-axis'] .role-axis-label text"
    ).all_text_contents()


def test_short_series_show_points_and_plain_labels(browser: Any, tmp_path: Path) -> None:
    one = [{"step": 0, "time": T0, "value": 0.973626}]
    few = [{"step": s, "time": T0 + 1000 * s, "value": 1 / (s + 1)} for s in range(3)]
    big = [{"step": s, "time": T0 + s, "value": 5.0 * s} for s in range(0, 200_001, 20_000)]
    cases = [
        {"id": "one", "kind": "history", "rows": one},
        {"id": "one-time", "kind": "history_time", "rows": one},
        {"id": "few", "kind": "history", "rows": few},
        {"id": "big", "kind": "history", "rows": big},
        {"id": "overlay-one", "kind": "overlay", "rows": [{"run": "a", **one[0]}]},
    ]
    write_site(tmp_path, "inline")
    page_file = tmp_path / "cases.html"
    page_file.write_text(CASES_PAGE.format(cases=script_json(cases)), encoding="utf-8")
    page = browser.new_page(viewport={"width": 900, "height": 2400})
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    page.goto(page_file.as_uri())
    assert page.evaluate("window.DONE") == "ok"
    assert messages == []

    for chart, count in (("one", 1), ("one-time", 1), ("few", 3), ("overlay-one", 1)):
        symbols = page.locator(f"#{chart} .mark-symbol.role-mark path")
        assert symbols.count() == count, chart
        # Visible without hovering (a single point has no line to show it).
        opacities = symbols.evaluate_all("els => els.map(e => e.getAttribute('opacity'))")
        assert all(o is None or float(o) > 0 for o in opacities), (chart, opacities)
    assert axis_labels(page, "one", "x") == ["0"]  # not "0.000000"
    assert axis_labels(page, "one", "y") == ["0.973626"]
    assert axis_labels(page, "one-time", "x")[0].endswith(".000")  # HH:MM:SS.mmm, not ".000"
    assert len(axis_labels(page, "one-time", "x")[0]) == len("08:00:00.000")
    assert axis_labels(page, "few", "x") == ["0", "1", "2"]  # integer steps only
    assert {"0", "100k", "200k"} <= set(axis_labels(page, "big", "x"))
    assert "1M" in axis_labels(page, "big", "y")
    page.close()
