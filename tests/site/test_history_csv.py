"""The CSV download of a history that ``data.js`` holds whole is made in the page.

The site writes ``runs/<id>/metrics/<key>.csv`` only for a downsampled history; for the
others the page turns ``data.js`` into the same CSV the generator would write.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import mltrail
from mltrail.entities import Metric
from mltrail.tracking import context
from mltrail_generator.gather.series import MAX_SAFE, downsample, series_to_csv
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
        if "<td></td></tr>" not in html.read_text():  # no History cell left for the page
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


_FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([-0.0, 0.0, 5e-324])
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
