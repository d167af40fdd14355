"""The CSV download of a history that ``data.js`` holds whole is made in the page.

The site writes ``runs/<id>/metrics/<key>.csv`` only for a downsampled history; for the
others the page turns ``data.js`` into the same CSV the generator would write.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import mltrail
from mltrail.entities import Metric
from mltrail.tracking import context
from mltrail_generator.gather.series import (
    MAX_SAFE,
    decode_floats,
    downsample,
    encode_floats,
    series_to_csv,
)
from mltrail_generator.output.jsdata import script_json
from tests.site.browse import SAMPLE_STORE, Pages, site_base


def _expected_csv(run_id: str, key: str) -> str:
    mltrail.set_tracking_uri(SAMPLE_STORE)
    try:
        points = mltrail.Client().get_metric_history(run_id, key)
    finally:
        context.reset_tracking_uri()
    return series_to_csv(sorted(points, key=lambda p: (p.step, p.timestamp)))


def test_page_made_csv_equals_the_generators(pages: Pages, sample_site: Path) -> None:
    made = 0
    # reading a link's blob: URL back is this test's own request, not the page's
    pages.watch.ignored.append(lambda problem: "outside" in problem and " blob:" in problem)
    for html in sorted((sample_site / "runs").glob("*/index.html"))[:6]:
        if "<td></tr>" not in html.read_text():  # no History cell left for the page
            continue
        run_id = html.parent.name
        page = pages.open(site_base(sample_site), f"runs/{run_id}/index.html")
        page.wait_for_selector("a.mt-csv[href]")
        for link in page.query_selector_all("a.mt-csv"):
            key = link.get_attribute("data-metric")
            href = link.get_attribute("href")
            assert href.startswith("blob:")
            assert link.get_attribute("download") == f"{key}.csv"
            text = page.evaluate("(url) => fetch(url).then((r) => r.text())", href)
            assert text == _expected_csv(run_id, key), key
            made += 1
        page.close()
    assert made >= 3


_FLOATS = (
    st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([-0.0, 0.0, 5e-324])
    | st.floats(width=32)  # float32 values: low zero bytes the encoding drops
    | st.integers(-(2**20), 2**20).map(float)
    | st.floats(0.5, 1.0)  # neighbours sharing sign, exponent and top bits
)
_SAFE = st.integers(min_value=-MAX_SAFE, max_value=MAX_SAFE)
_POINTS = st.lists(st.tuples(_SAFE, _SAFE, _FLOATS), max_size=60) | st.lists(
    st.tuples(st.integers(0, 3), st.sampled_from([1767225600000, 1767225600600]), _FLOATS),
    max_size=60,
)


def test_data_js_series_decode_to_the_exact_history(pages: Pages, sample_site: Path) -> None:
    """What ``data.js`` holds of a history, decoded by the site's JS in Chromium, makes
    the CSV of the stored history: exact floats (NaN, infinities, -0.0, subnormals) and
    steps and times up to JavaScript's safe integers, negative and out of order too."""
    run_id = sorted((sample_site / "runs").glob("*/index.html"))[0].parent.name
    page = pages.open(site_base(sample_site), f"runs/{run_id}/index.html")

    @settings(max_examples=150, deadline=None)
    @given(points=_POINTS)
    def decodes(points: list[tuple[int, int, float]]) -> None:
        columns = list(zip(*points, strict=True)) or [(), (), ()]
        series = downsample(*columns)
        made = page.evaluate(
            "(s) => MLTRAIL.historyCsv.seriesCsv(MLTRAIL.decodeSeries(s))",
            json.loads(script_json(series.to_json())),
        )
        stored = [Metric("m", value, time, step) for step, time, value in points]
        assert made == series_to_csv(stored)

    decodes()


@given(values=st.lists(_FLOATS, max_size=40))
def test_encoded_values_decode_to_the_same_bits(values: list[float]) -> None:
    """The writer's own reader gives back every bit (the page's is checked above)."""
    assert [struct.pack("<d", v) for v in decode_floats(encode_floats(values), len(values))] == [
        struct.pack("<d", v) for v in values
    ]


def test_every_latest_value_reaches_the_page(pages: Pages, sample_site: Path) -> None:
    """``data.js`` leaves out the latest values its series end with: the page still has
    each run's latest metrics, the same as ``runs.js`` (the whole store's values)."""
    runs_js = sorted((sample_site / "experiments").glob("*/runs.js"))
    expected = {}
    for path in runs_js:
        text = path.read_text()
        payload = json.loads(text[text.index("(") + 1 : text.rindex(")")])
        expected.update({run["id"]: run["metrics"] for run in payload["runs"]})
    page = pages.open(site_base(sample_site), "compare/index.html")
    left_out = 0
    for data in sorted((sample_site / "runs").glob("*/data.js")):
        run_id = data.parent.name
        text = data.read_text()
        payload = json.loads(text[text.index("(") + 1 : text.rindex(")")])
        left_out += len(set(payload["series"]) - set(payload.get("metrics", {})))
        got = page.evaluate(
            """([text, id]) => {
                new Function("MLTRAIL", text)(MLTRAIL);
                const m = MLTRAIL.data.runs.get(id).metrics;
                return Object.fromEntries(Object.entries(m).map(([k, v]) =>
                  [k, Number.isFinite(v) ? v : String(v)]));
            }""",
            [text, run_id],
        )
        want = {
            k: {"NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity"}.get(v, v)
            for k, v in expected[run_id].items()
        }
        assert got == want, run_id
    assert left_out >= 20
