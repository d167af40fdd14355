"""10,000 runs: the table draws (virtualized) and answers a sort; the times are reported.

Timing is not asserted here (benchmarks/ does that); the numbers are printed (run with
``-s``) and attached to the test report as user properties.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.site_client.conftest import build_site

N_RUNS = 10_000
METRICS = ["loss", "rmse", "mae", "r2", "accuracy"]
PARAMS = [f"p{i}" for i in range(10)]

#: In the page: when the table first shows its rows (ms since navigation start), then a
#: click on the rmse header right away, and when the sorted rows have been painted.
TIMING_SCRIPT = """
window.__mt = {};
document.addEventListener('mltrail:runs-view', () => {
    if (window.__mt.drawn !== undefined) return;
    window.__mt.drawn = performance.now();
    setTimeout(() => {
        const t0 = performance.now();
        document.querySelector('#runs-app th[data-column="metrics.rmse"] button').click();
        window.__mt.sort = performance.now() - t0;
        requestAnimationFrame(() => { window.__mt.answered = performance.now(); });
    }, 0);
});
"""


def big_experiment(n: int) -> dict[str, Any]:
    rng = random.Random(7)
    t0 = 1_700_000_000_000
    runs = []
    for i in range(n):
        metrics = {key: round(rng.random(), 6) for key in METRICS}
        if i % 97 == 0:
            del metrics["rmse"]
        start = t0 - i * 60_000
        runs.append(
            {
                "id": f"{i:032x}",
                "name": f"run-{i}",
                "status": "FAILED" if i % 13 == 0 else "FINISHED",
                "start": start,
                "end": start + 30_000,
                "duration": 30_000,
                "user": "alice",
                "commit": "0123456789abcdef0123456789abcdef01234567",
                "parent": None,
                "params": {key: str(rng.choice([0.1, 0.2, 0.5, 1, 2, 5])) for key in PARAMS},
                "metrics": metrics,
                "tags": {"team": rng.choice(["a", "b", "c"]), "mlflow.source.name": "train.py"},
            }
        )
    return {
        "id": "big",
        "name": "big",
        "primary_metric": "rmse",
        "lower_is_better": True,
        "columns": {"params": PARAMS, "metrics": METRICS, "tags": ["mlflow.source.name", "team"]},
        "runs": runs,
    }


@pytest.fixture(scope="module")
def big_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = build_site(tmp_path_factory.mktemp("scale") / "site")
    folder = site / "experiments" / "big"
    folder.mkdir()
    payload = json.dumps(big_experiment(N_RUNS), separators=(",", ":"))
    (folder / "runs.js").write_text(f"MLTRAIL.experimentData({payload});\n")
    page = (site / "experiments" / "7" / "index.html").read_text()
    page = page.replace('data-experiment-id="7"', 'data-experiment-id="big"')
    (folder / "index.html").write_text(page)
    return site


def test_ten_thousand_runs_draw_and_sort(
    open_page: Any, big_site: Path, record_property: Any
) -> None:
    page = open_page("experiments/big/index.html", root=big_site, init_script=TIMING_SCRIPT)
    page.wait_for_selector("#runs-app tr.mt-run")
    drawn = page.evaluate("window.__mt.drawn")
    rendered = page.locator("#runs-app tbody tr.mt-run").count()
    assert page.get_attribute("#runs-app table", "aria-rowcount") == str(N_RUNS + 1)
    assert page.text_content(".mt-count") == "10,000 runs"
    assert 10 <= rendered <= 200, rendered  # only the visible window is in the DOM

    page.wait_for_function("window.__mt.answered !== undefined")
    timing = page.evaluate("window.__mt")
    assert page.get_attribute('#runs-app th[data-column="metrics.rmse"]', "aria-sort") == (
        "ascending"
    )
    values = page.evaluate(
        """() => Array.from(document.querySelectorAll('#runs-app tbody tr.mt-run'))
            .slice(0, 20).map((tr) => document.querySelector('#runs-app').mltrailTable
            .experiment.runs.find((r) => r.id === tr.dataset.runId).metrics.rmse)"""
    )
    assert len(values) == 20 and values == sorted(values)

    filter_ms = page.evaluate(
        """() => new Promise((resolve) => {
            const input = document.querySelector('.mt-filter-input');
            input.value = "metrics.rmse < 0.5 and params.p1 = '0.5'";
            const t0 = performance.now();
            input.form.requestSubmit();
            requestAnimationFrame(() => resolve(performance.now() - t0));
        })"""
    )
    shown = page.text_content(".mt-count")
    assert shown.endswith("of 10,000 runs match")

    # Scrolling to the end draws the last rows.
    page.fill(".mt-filter-input", "")
    page.press(".mt-filter-input", "Enter")
    page.eval_on_selector(".mt-table-scroll", "el => { el.scrollTop = el.scrollHeight; }")
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('#runs-app tbody tr.mt-run'))
            .some((tr) => tr.getAttribute('aria-rowindex') === '10001')"""
    )
    figures = {
        "table_drawn_ms_after_navigation": round(drawn, 1),
        "sort_ms": round(timing["sort"], 1),
        "sort_painted_ms_after_navigation": round(timing["answered"], 1),
        "filter_ms": round(filter_ms, 1),
        "rows_in_dom": rendered,
    }
    for key, value in figures.items():
        record_property(key, value)
    print(f"\n10,000-run experiment page: {figures}")
