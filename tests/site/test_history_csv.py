"""The CSV download of a history that ``data.js`` holds whole is made in the page.

The site writes ``runs/<id>/metrics/<key>.csv`` only for a downsampled history; for the
others the page turns ``data.js`` into the same CSV the generator would write.
"""

from __future__ import annotations

from pathlib import Path

import mltrail
from mltrail.tracking import context
from mltrail_generator.gather.series import series_to_csv
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
        if 'class="mt-csv"' not in html.read_text():
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
