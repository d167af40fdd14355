"""The chart templates: valid Vega-Lite, one named dataset, no URLs, the same bytes every time."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import altair as alt
import pytest
from altair.utils.schemapi import validate_jsonschema

from mltrail_generator.output.charts import (
    DATASET,
    ROW_FIELDS,
    SCHEMA_URL,
    VEGA_LITE_VERSION,
    chart_specs,
    chart_specs_js,
)

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "themes" / "default" / "static" / "vendor"

SPECS = chart_specs()


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, value) pair below ``node``, dicts and lists included."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}/{i}")


def test_the_kinds_are_the_documented_ones() -> None:
    assert set(SPECS) == set(ROW_FIELDS)
    site_doc = (ROOT / "docs" / "SITE.md").read_text(encoding="utf-8")
    charts_section = site_doc.split("## Charts", 1)[1].split("\n## ", 1)[0]
    # The table of kinds: "| `kind` | `{field, field?}` | notes |", or "same" as above.
    rows = dict(re.findall(r"^\| `(\w+)` \| (`\{[^}]*\}`|same) \|", charts_section, re.M))
    assert set(rows) == set(ROW_FIELDS), "docs/SITE.md (Charts) must list every kind"
    previous = ""
    for kind, fields in ROW_FIELDS.items():
        documented = previous if rows[kind] == "same" else rows[kind]
        assert documented == "`{" + ", ".join(fields) + "}`", kind
        previous = documented


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_spec_validates_against_the_vega_lite_schema(kind: str) -> None:
    schema = alt.vegalite.v6.schema.load_schema()
    validate_jsonschema(SPECS[kind], schema)


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_spec_reads_only_the_named_empty_dataset(kind: str) -> None:
    spec = SPECS[kind]
    assert spec["data"] == {"name": DATASET}
    for path, node in walk(spec):
        if isinstance(node, dict) and path.endswith("/data"):
            assert node == {"name": DATASET}, path
        assert not (isinstance(node, dict) and {"values", "url"} & node.keys()), path


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_spec_has_no_url_but_its_schema(kind: str) -> None:
    spec = SPECS[kind]
    assert spec["$schema"] == SCHEMA_URL
    for path, node in walk(spec):
        if path != "/$schema" and isinstance(node, str):
            assert "http" not in node and "//" not in node, f"{path}: {node}"


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_spec_uses_only_the_documented_row_fields(kind: str) -> None:
    used: set[str] = set()
    made: set[str] = set()
    for path, node in walk(SPECS[kind]):
        if re.search(r"/(field|fields/\d+|groupby/\d+)$", path) and node:
            used.add(node)
        if path.endswith("/as") and isinstance(node, str):
            made.add(node)
        # An axis's labelExpr reads the tick (datum.value, datum.label), not a row.
        if isinstance(node, str) and "datum." in node and not path.endswith("/labelExpr"):
            used.update(re.findall(r"datum\.(\w+)", node))
    documented = {name.rstrip("?") for name in ROW_FIELDS[kind]}
    assert used - made <= documented
    # Every required field is drawn or shown somewhere.
    assert {name for name in ROW_FIELDS[kind] if not name.endswith("?")} <= used


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_width_follows_the_page(kind: str) -> None:
    assert SPECS[kind]["width"] == "container"


@pytest.mark.parametrize(
    ("kind", "channels"),
    [("scatter", ("x", "y")), ("scatter_nominal", ("x", "y")), ("metric_across_runs", ("x",))],
)
def test_axis_titles_the_page_sets_are_at_the_top_level(kind: str, channels: tuple[str]) -> None:
    # docs/SITE.md: the page names the param and metric in spec.encoding.<channel>.title.
    for channel in channels:
        assert isinstance(SPECS[kind]["encoding"][channel]["title"], str)


def test_no_height_by_step() -> None:
    # A height by step beside width "container" makes Vega-Lite warn (drops "fit-y").
    for kind, spec in SPECS.items():
        assert isinstance(spec["height"], int), kind


@pytest.mark.parametrize("kind", ["history", "history_time", "overlay", "overlay_time"])
def test_few_points_are_always_drawn(kind: str) -> None:
    # A line needs two points: a short series shows its points without hovering.
    (points,) = [layer for layer in SPECS[kind]["layer"] if layer.get("name") == "points"]
    opacity = points["encoding"]["opacity"]
    assert opacity["value"] == 0
    tests = [c.get("test") for c in opacity["condition"]]
    assert "datum.n <= 50" in tests
    assert points["transform"][0]["joinaggregate"][0] == {"op": "count", "as": "n"}


@pytest.mark.parametrize("kind", ["history", "history_time"])
def test_history_x_domain_is_the_whole_table(kind: str) -> None:
    # The non-finite rule layer filters the rows (usually to none): if its extent joined
    # the x domain, Vega would warn "Infinite extent" on every normal chart.
    field = "time" if kind == "history_time" else "step"
    for layer in SPECS[kind]["layer"]:
        domain = layer["encoding"]["x"]["scale"]["domain"]
        assert domain == {
            "expr": f"length(data('table')) ? extent(pluck(data('table'), '{field}')) : [0, 1]"
        }


def test_schema_is_the_vendored_vega_lite() -> None:
    # Altair validated the specs against its schema; the site runs the vendored build.
    vendored = (VENDOR / "vega-lite.min.js").read_text(encoding="utf-8")
    assert f'"{VEGA_LITE_VERSION}"' in vendored[:2000]
    assert alt.SCHEMA_VERSION.split(".")[0] == "v" + VEGA_LITE_VERSION.split(".")[0]


def test_specs_are_the_same_bytes_every_call() -> None:
    assert chart_specs_js() == chart_specs_js()
    assert json.dumps(chart_specs(), sort_keys=True) == json.dumps(SPECS, sort_keys=True)


def test_specs_are_the_same_bytes_in_another_process() -> None:
    code = "import sys, mltrail_generator.output.charts as c; sys.stdout.write(c.chart_specs_js())"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out == chart_specs_js()


def test_chart_specs_js_is_one_script_safe_call() -> None:
    text = chart_specs_js()
    assert text.startswith("MLTRAIL.chartSpecs(") and text.endswith(");\n")
    assert not set("<>&\u2028\u2029") & set(text)
    payload = json.loads(text[len("MLTRAIL.chartSpecs(") : -len(");\n")])
    assert payload == SPECS
