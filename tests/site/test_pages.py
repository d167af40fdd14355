"""Every page type of the real sample site in Chromium, from disk and under a sub-path:
no console error, page error, failed or outside request; charts drawn; previews shown;
the runs table's sort, MLflow filter and compare, and the site search, on real data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

import pytest

import mltrail
from mltrail import Run
from mltrail.tracking import context
from mltrail_generator.gather.site import user_tags
from tests.site.browse import (
    CLASSIFICATION,
    CURVES,
    SAMPLE_STORE,
    Pages,
    draw_charts,
    settle,
    site_base,
)

CHARTS = ".metric-chart, #experiment-charts .mt-chart, #compare-app .mt-chart"


@dataclass(frozen=True)
class Sample:
    """Runs and experiments of the sample store the tests look at, found through the API."""

    classification: str  # experiment ids
    curves: str
    best: Run  # a child run with image, Markdown, CSV and JSON artifacts
    parent: Run  # the grid search holding the best run and 10 more
    diverged: Run  # long histories that end in NaN


def _runs(experiment: str, filter_string: str = "") -> list[Run]:
    found = mltrail.search_runs(
        experiment_names=[experiment], filter_string=filter_string, output_format="list"
    )
    return list(found)


@pytest.fixture
def sample_api() -> Iterator[None]:
    """The fluent API pointed at the sample store (reading it only writes its ``.cache``)."""
    mltrail.set_tracking_uri(SAMPLE_STORE)
    yield
    context.reset_tracking_uri()


@pytest.fixture
def sample(sample_api: None) -> Sample:
    (best,) = _runs(CLASSIFICATION, "tags.best = 'true'")
    (parent,) = _runs(CLASSIFICATION, "attributes.run_name = 'grid-search'")
    (diverged,) = _runs(CURVES, "attributes.status = 'FAILED'")
    assert best.data.tags["mlflow.parentRunId"] == parent.info.run_id
    return Sample(
        classification=best.info.experiment_id,
        curves=diverged.info.experiment_id,
        best=best,
        parent=parent,
        diverged=diverged,
    )


#: Page type -> its body's data-page.
PAGE_TYPES = {
    "home": "home",
    "experiment": "experiment",
    "experiment-without-runs": "experiment",
    "experiment-long-histories": "experiment",
    "run-child-with-artifacts": "run",
    "run-parent": "run",
    "run-diverged-to-nan": "run",
    "compare": "compare",
    "404": "404",
}


def charts_of(kind: str, sample: Sample) -> int:
    """How many charts a page draws: one per metric history, three across runs, and on
    the compare page one per metric of either run plus parallel coordinates."""
    metrics = {
        "run-child-with-artifacts": set(sample.best.data.metrics),
        "run-parent": set(sample.parent.data.metrics),
        "run-diverged-to-nan": set(sample.diverged.data.metrics),
        "compare": set(sample.best.data.metrics) | set(sample.parent.data.metrics),
    }
    if kind in ("experiment", "experiment-long-histories"):
        return 3  # a metric across runs, param vs metric, parallel coordinates
    return len(metrics.get(kind, ())) + (kind == "compare")


def page_path(kind: str, sample: Sample) -> str:
    best, parent = sample.best.info.run_id, sample.parent.info.run_id
    return {
        "home": "index.html",
        "experiment": f"experiments/{sample.classification}/index.html",
        "experiment-without-runs": "experiments/0/index.html",
        "experiment-long-histories": f"experiments/{sample.curves}/index.html",
        "run-child-with-artifacts": f"runs/{best}/index.html",
        "run-parent": f"runs/{parent}/index.html",
        "run-diverged-to-nan": f"runs/{sample.diverged.info.run_id}/index.html",
        "compare": f"compare/index.html?runs={best},{parent}",
        "404": "404.html",
    }[kind]


@pytest.fixture(params=["file", "http"])
def base(request: pytest.FixtureRequest, sample_site: Path) -> str:
    """The sample site opened from disk, or served under ``/sub/project/``."""
    if request.param == "file":
        return site_base(sample_site)
    url: str = request.getfixturevalue("served")
    return url


def images_loaded(page: Any) -> list[bool]:
    return page.eval_on_selector_all(
        "main img", "imgs => imgs.map((img) => img.complete && img.naturalWidth > 0)"
    )


@pytest.mark.parametrize("kind", PAGE_TYPES)
def test_every_page_type_loads_cleanly_and_draws_its_charts(
    kind: str, base: str, sample: Sample, pages: Pages
) -> None:
    page = pages.open(base, page_path(kind, sample))
    assert page.get_attribute("body", "data-page") == PAGE_TYPES[kind]
    assert draw_charts(page, CHARTS) == charts_of(kind, sample)
    settle(page)
    assert all(images_loaded(page))
    assert pages.watch.requests[0] == base + page_path(kind, sample)


def test_run_page_previews_every_artifact_type(
    sample_site: Path, sample: Sample, pages: Pages
) -> None:
    page = pages.open(site_base(sample_site), page_path("run-child-with-artifacts", sample))
    assert page.text_content("h1").startswith(sample.best.info.run_name)
    preview = ".mt-artifacts .mt-preview"
    image = page.locator(f"{preview}-image img")
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    assert page.text_content(f"{preview}-markdown h4") == "Model card"
    assert page.locator(f"{preview}-csv tbody tr").count() >= 5
    assert '"labels"' in page.text_content(f"{preview}-text .highlight")  # the JSON, highlighted
    parent_link = page.locator(
        f'nav[aria-label=Breadcrumb] a:text("{sample.parent.info.run_name}")'
    )
    assert parent_link.count() == 1


def test_parent_run_page_lists_its_children(
    sample_site: Path, sample: Sample, pages: Pages
) -> None:
    page = pages.open(site_base(sample_site), page_path("run-parent", sample))
    children = page.eval_on_selector_all(".mt-child-runs a", "links => links.map(a => a.text)")
    assert len(children) == 11 and sample.best.info.run_name in children
    # Exact text (`:text()` matches substrings). wait_for_url also holds when a fast
    # file:// load has already finished by the time it starts.
    link = page.locator(".mt-child-runs").get_by_role(
        "link", name=sample.best.info.run_name, exact=True
    )
    # Followed with the element's own click(), not a mouse click at its coordinates: the
    # charts above the list render asynchronously and can move it while the mouse moves.
    link.first.evaluate("a => a.click()")
    page.wait_for_url(f"**/runs/{sample.best.info.run_id}/index.html", wait_until="commit")


# --- the runs table on real data ---------------------------------------------------


def row_ids(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#runs-app tbody tr.mt-run", "rows => rows.map(r => r.dataset.runId)"
    )


def column_texts(page: Any, column: str) -> list[str]:
    return page.evaluate(
        """(column) => {
            const ths = Array.from(document.querySelectorAll('#runs-app thead th'));
            const index = ths.findIndex((th) => th.dataset.column === column);
            return Array.from(document.querySelectorAll('#runs-app tbody tr.mt-run'))
                .map((tr) => tr.children[index].textContent);
        }""",
        column,
    )


def numbers(texts: list[str]) -> list[float]:
    return [float(t) for t in texts if t != "—"]


@pytest.fixture
def experiment_page(sample_site: Path, sample: Sample, pages: Pages) -> Any:
    page = pages.open(site_base(sample_site), page_path("experiment", sample))
    page.wait_for_selector("#runs-app tbody tr.mt-run")
    return page


def test_sorting_a_metric_column(experiment_page: Any, sample: Sample) -> None:
    page = experiment_page
    everything = _runs(CLASSIFICATION)
    assert sorted(row_ids(page)) == sorted(r.info.run_id for r in everything)
    column = "metrics.cv_accuracy"
    header = f'#runs-app th[data-column="{column}"]'
    page.click(f"{header} button")
    assert page.get_attribute(header, "aria-sort") == "ascending"
    texts = column_texts(page, column)
    values = numbers(texts)
    assert values == sorted(values) and len(values) >= 10
    assert texts[len(values) :] == ["—"] * (len(texts) - len(values))  # missing ones last
    page.click(f"{header} button")
    assert page.get_attribute(header, "aria-sort") == "descending"
    assert numbers(column_texts(page, column)) == sorted(values, reverse=True)
    assert row_ids(page)[0] == sample.best.info.run_id  # the best cv_accuracy


@pytest.mark.parametrize(
    "expression",
    [
        "metrics.cv_accuracy > 0.95",
        "params.model = 'random_forest' and metrics.test_accuracy >= 0.95",
        "attributes.status != 'FINISHED'",
        "tags.model_family LIKE 'tree%'",
    ],
)
def test_mlflow_filter_matches_search_runs(experiment_page: Any, expression: str) -> None:
    page = experiment_page
    expected = sorted(run.info.run_id for run in _runs(CLASSIFICATION, expression))
    assert expected  # each expression matches some runs of the sample, not all
    page.fill(".mt-filter-input", expression)
    page.press(".mt-filter-input", "Enter")
    page.wait_for_function(
        "(n) => document.querySelectorAll('#runs-app tbody tr.mt-run').length === n",
        arg=len(expected),
    )
    assert sorted(row_ids(page)) == expected
    assert page.get_attribute(".mt-filter-input", "aria-invalid") is None
    total = len(_runs(CLASSIFICATION))
    assert page.text_content(".mt-count") == f"{len(expected)} of {total} runs match"


def test_selecting_two_runs_opens_the_compare_page(experiment_page: Any, sample: Sample) -> None:
    page = experiment_page
    best, parent = sample.best.info, sample.parent.info
    page.check(f'#runs-app input[data-run-id="{best.run_id}"]')
    page.check(f'#runs-app input[data-run-id="{parent.run_id}"]')
    link = "#runs-app a.mt-compare"
    assert page.text_content(link) == "Compare 2 runs"
    page.click(link)
    page.wait_for_url(lambda url: "/compare/index.html?runs=" in url, wait_until="commit")
    page.wait_for_selector("#compare-app:not([aria-busy]) table[data-table='params']")
    assert sorted(page.url.split("?runs=")[1].split(",")) == sorted([best.run_id, parent.run_id])
    heads = page.eval_on_selector_all(
        'table[data-table="params"] thead a', "links => links.map(a => a.textContent)"
    )
    assert sorted(heads) == sorted([best.run_name, parent.run_name])
    assert page.locator('table[data-table="metrics"] tbody tr').count() >= 8
    assert draw_charts(page, "#compare-app .mt-chart") >= 9  # 8 overlays and parallel axes
    assert page.locator('#compare-app .mt-chart[data-chart-kind="overlay"]').count() >= 8


# --- site search -------------------------------------------------------------------


def search(page: Any, query: str) -> list[str]:
    page.fill("#site-search", "")
    page.wait_for_selector("#search-results [role=option]", state="detached")
    page.fill("#site-search", query)
    page.wait_for_selector("#search-results [role=option]")
    return page.eval_on_selector_all(
        "#search-results .mt-search-title", "els => els.map(e => e.textContent)"
    )


def test_site_search_finds_runs_by_name_and_by_param_value(
    sample_site: Path, sample: Sample, pages: Pages
) -> None:
    page = pages.open(site_base(sample_site), "index.html")
    name = sample.diverged.info.run_name
    assert search(page, name)[0] == name
    seed = sample.diverged.data.params["seed"]  # a param value no other run has
    assert search(page, seed) == [name]
    assert search(page, "most_frequent") == ["majority-baseline"]  # the baseline's strategy
    page.press("#site-search", "ArrowDown")
    page.press("#site-search", "Enter")
    page.wait_for_url("**/runs/*/index.html", wait_until="commit")
    page.wait_for_selector("body[data-page=run]")
    assert page.text_content("h1").startswith("majority-baseline")


def test_search_parts_give_each_run_the_entry_search_js_would_hold(
    sample_site: Path, sample_api: None, pages: Pages
) -> None:
    """The parts write ``[id, name, words]``; the client's entries are in full."""
    page = pages.open(site_base(sample_site), "index.html")
    want = []
    for exp in mltrail.search_experiments():
        for run in _runs(exp.name):
            words = [run.info.run_name, run.info.run_id, exp.name]
            words += [f"{k} {v}" for k, v in sorted(run.data.params.items())]
            words += [f"{k} {v}" for k, v in sorted(user_tags(run).items())]
            url = f"runs/{run.info.run_id}/index.html"
            want.append(
                {"kind": "run", "title": run.info.run_name, "url": url, "text": " ".join(words)}
            )
    search(page, "a")  # loads every part
    page.wait_for_function(
        "(n) => MLTRAIL.data.search.filter((e) => e.kind === 'run').length >= n", arg=len(want)
    )
    got = page.evaluate("() => MLTRAIL.data.search.filter((e) => e.kind === 'run')")
    key = itemgetter("url")
    assert sorted(got, key=key) == sorted(want, key=key)


def test_a_runs_dataset_leads_to_every_run_that_used_it(
    sample_site: Path, sample: Sample, pages: Pages
) -> None:
    page = pages.open(site_base(sample_site), page_path("run-child-with-artifacts", sample))
    # Charts and images above the section draw as they come into view: let them, so the
    # click lands on the link and not where it was before the page grew.
    draw_charts(page, CHARTS)
    settle(page)
    datasets = "#datasets-heading ~ article.mt-dataset"
    link = page.locator(f"{datasets} h3 a", has_text="breast-cancer-test")
    assert page.text_content(f"{datasets} .mt-badge") == "training"
    link.click()
    page.wait_for_url("**/datasets/*.html", wait_until="commit")
    page.wait_for_selector("body[data-page=dataset]")
    assert page.text_content("h1") == "breast-cancer-test"
    runs = page.locator("#runs-heading ~ div table tbody tr")
    assert runs.count() >= 5  # every grid configuration that trained
    assert runs.locator(f'a:text("{sample.best.info.run_name}")').count() == 1
    # Datasets are found by the site search too.
    home = pages.open(site_base(sample_site), "index.html")
    assert "breast-cancer-train" in search(home, "breast-cancer-train")


def header_cells(page: Any, table: str) -> dict[str, list[str]]:
    """The names of the column and row headers of ``table`` (a CSS selector) in
    Chromium's own accessibility tree: what a screen reader is given."""
    cdp = page.context.new_cdp_session(page)
    try:
        found = cdp.send("Runtime.evaluate", {"expression": f"document.querySelector({table!r})"})
        target = {"objectId": found["result"]["objectId"]}
        return {
            role: [
                n["name"]["value"]
                for n in cdp.send("Accessibility.queryAXTree", {**target, "role": role})["nodes"]
            ]
            for role in ("columnheader", "rowheader")
        }
    finally:
        cdp.detach()


def test_run_page_tables_have_column_and_row_headers(
    sample_site: Path, sample: Sample, pages: Pages
) -> None:
    """The run page's th carry no scope (its bytes, on 100,000 pages): the HTML table
    model gives them the roles scope would, head row cells columns, body th rows."""
    page = pages.open(site_base(sample_site), page_path("run-child-with-artifacts", sample))
    data = sample.best.data
    assert header_cells(page, ".mt-kv-table") == {
        "columnheader": ["Key", "Value"],
        "rowheader": sorted(data.params),
    }
    metrics = header_cells(page, "table.mt-metrics")
    assert metrics["columnheader"][:2] == ["Metric", "Latest"]
    assert metrics["rowheader"] == sorted(data.metrics)
    # Without </th> and </td>, each cell holds its text alone, as with them.
    cells = (
        "rows => rows.map((r) => Array.from(r.children, (c) => c.tagName + ' ' + c.textContent))"
    )
    params = page.eval_on_selector_all("#params-heading ~ * tbody tr", cells)
    assert params == [[f"TH {k}", f"TD {v}"] for k, v in sorted(data.params.items())]
    rows = page.eval_on_selector_all("table.mt-metrics tr", cells)
    assert all(len(row) == 7 for row in rows) and rows[0][-1] == "TH History"
    assert [row[-1] for row in rows[1:]] == ["TD CSV"] * len(data.metrics)  # historycsv.js
