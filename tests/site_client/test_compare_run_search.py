"""Compare page, run page charts, experiment charts and home search in Chromium (file://)."""

from __future__ import annotations

from typing import Any

from tests.site_client.conftest import RUN_IDS, XSS_NAME

R1, R2, R3, R4, R5 = RUN_IDS


def compare(open_page: Any, *ids: str) -> Any:
    page = open_page("compare/index.html", query="?runs=" + ",".join(ids))
    page.wait_for_selector("#compare-app:not([aria-busy])")
    return page


def table_rows(page: Any, table: str) -> dict[str, dict[str, Any]]:
    return page.evaluate(
        """(table) => Object.fromEntries(
            Array.from(document.querySelectorAll(`table[data-table="${table}"] tbody tr`)).map(
                (tr) => [tr.dataset.key, {
                    differs: tr.classList.contains('mt-diff'),
                    cells: Array.from(tr.querySelectorAll('td')).map((td) => td.textContent),
                }]))""",
        table,
    )


def test_compare_highlights_differing_params(open_page: Any) -> None:
    page = compare(open_page, R1, R3)
    params = table_rows(page, "params")
    assert params == {
        "alpha": {"differs": True, "cells": ["0.1", "2"]},
        "batch size": {"differs": True, "cells": ["32", "—"]},
        "model": {"differs": False, "cells": ["linear", "linear"]},
    }
    metrics = table_rows(page, "metrics")
    assert metrics["rmse"] == {"differs": True, "cells": ["0.9", "0.7"]}
    assert metrics["acc"]["cells"] == ["0.7", "—"]
    heads = page.eval_on_selector_all(
        'table[data-table="params"] thead a',
        "links => links.map(a => [a.textContent, a.getAttribute('href')])",
    )
    assert heads == [
        ["alpha-run", f"../runs/{R1}/index.html"],
        ["gamma-run", f"../runs/{R3}/index.html"],
    ]
    # "Show only differences" hides the equal rows.
    page.locator(".mt-compare-params label.mt-check").click()
    assert not page.is_visible('table[data-table="params"] tr[data-key="model"]')
    assert page.is_visible('table[data-table="params"] tr[data-key="alpha"]')


def test_compare_draws_overlaid_histories_and_parallel_coordinates(open_page: Any) -> None:
    page = compare(open_page, R1, R2, R4)
    charts = '.mt-compare-histories .mt-chart[data-chart-kind="overlay"]'
    page.wait_for_function(f"document.querySelectorAll('{charts}').length === 3")
    assert page.locator(f"{charts} svg .mark-line path").count() >= 3
    rmse = '.mt-compare-histories .mt-chart[data-metric="rmse"]'
    page.wait_for_selector(f'{rmse}[data-chart-kind="overlay"]')
    page.click('.mt-compare-histories button[data-x="time"]')
    page.wait_for_selector(f'{rmse}[data-chart-kind="overlay_time"]')
    time_button = '.mt-compare-histories button[data-x="time"]'
    assert page.get_attribute(time_button, "aria-pressed") == "true"
    parallel = ".mt-compare-parallel .mt-chart"
    page.wait_for_selector(f'{parallel}[data-chart-kind="parallel"] svg')
    page.select_option(".mt-compare-parallel select", "rmse")
    # R4's rmse is NaN, so it has no line. Of R1's and R2's params, "batch size" (R1's
    # only) has one value: no axis. Left: alpha, model and the metric, a row per run each.
    page.wait_for_function(f"document.querySelector('{parallel}').dataset.rows === '6'")


def test_compare_shows_hostile_names_as_text(open_page: Any, watch: Any) -> None:
    page = compare(open_page, R1, R4)
    assert page.text_content('table[data-table="params"] thead th:nth-child(3)') == XSS_NAME
    assert table_rows(page, "params")["model"]["cells"][1] == "<script>alert(2)</script>"
    page.wait_for_selector('.mt-compare-histories .mt-chart[data-chart-kind="overlay"] svg')
    assert page.locator("#compare-app img").count() == 0
    assert watch.dialogs == []


def test_compare_names_runs_it_cannot_find(open_page: Any, watch: Any) -> None:
    page = compare(open_page, R1, "no-such-run")
    assert "no-such-run" in page.text_content("#compare-app .mt-error")
    assert "at least two runs" in page.text_content("#compare-app")
    # The missing data.js is a failed request by design: take it off the problem list.
    expected = [p for p in watch.problems if "no-such-run" in p or "ERR_FILE_NOT_FOUND" in p]
    assert expected
    watch.problems[:] = [p for p in watch.problems if p not in expected]


def test_compare_without_runs_explains_what_to_do(open_page: Any) -> None:
    page = compare(open_page)
    assert "select two or more runs" in page.text_content("#compare-app")


def test_a_themes_own_csv_link_gets_the_history(open_page: Any) -> None:
    """A run template that still writes ``a.mt-csv`` itself (as before the page made
    its links) gets a blob: URL of the CSV made from data.js, NaN spelled as Python does."""
    page = open_page(f"runs/{R1}/index.html")
    page.wait_for_selector("a.mt-csv[href^='blob:']")
    text = page.evaluate(
        "() => MLTRAIL.historyCsv.seriesCsv(MLTRAIL.data.runs.values().next().value.series.rmse)"
    )
    lines = text.splitlines()
    assert lines[0] == "step,timestamp,value" and len(lines) == 13
    assert lines[4] == "3,1700000003000,nan" and lines[1] == "0,1700000000000,1.5"


def test_run_page_draws_each_metric_history(open_page: Any) -> None:
    page = open_page(f"runs/{R1}/index.html")
    for key in ("acc", "rmse", "val-loss"):
        page.wait_for_selector(f'.metric-chart[data-metric="{key}"][data-chart-kind="history"] svg')
    rmse = '.metric-chart[data-metric="rmse"]'
    assert page.locator(f"{rmse} .mark-line path").count() >= 1
    assert page.locator(f"{rmse} .mark-rule.role-mark line").count() == 1  # the NaN at step 3
    assert page.get_attribute(f"{rmse}", "data-rows") == "12"
    page.click('button[data-x="time"]')
    page.wait_for_selector(f'{rmse}[data-chart-kind="history_time"] svg')
    assert page.get_attribute('button[data-x="step"]', "aria-pressed") == "false"
    page.click('button[data-x="step"]')
    page.wait_for_selector(f'{rmse}[data-chart-kind="history"] svg')


def test_experiment_charts_follow_the_table(open_page: Any) -> None:
    page = open_page("experiments/7/index.html")
    holder = "#experiment-charts"
    page.wait_for_function(
        f"document.querySelectorAll('{holder} .mt-chart[data-chart-kind] svg').length === 3"
    )
    kinds = page.eval_on_selector_all(
        f"{holder} .mt-chart", "els => els.map(e => e.dataset.chartKind)"
    )
    assert kinds == ["metric_across_runs", "scatter", "parallel"]
    across = f"{holder} .mt-chart[data-chart-kind='metric_across_runs']"
    assert page.get_attribute(across, "data-rows") == "3"  # rmse: NaN and missing left out
    # Best first (the experiment says lower is better), the metric named on the axis.
    drawn = page.evaluate(
        f"""() => document.querySelector("{across}").mltrailChart.view.data('table')
            .map((row) => row.run)"""
    )
    assert drawn == ["beta-run", "gamma-run", "alpha-run"]
    assert "rmse (lower is better)" in page.text_content(f"{across} .role-axis-title")
    page.select_option(f"{holder} select >> nth=0", "acc")
    page.wait_for_function(f"document.querySelector(\"{across}\").dataset.rows === '4'")
    page.fill(".mt-filter-input", "params.model = 'tree'")
    page.press(".mt-filter-input", "Enter")
    page.wait_for_function(f"document.querySelector(\"{across}\").dataset.rows === '2'")
    page.select_option(f"{holder} select >> nth=1", "model")
    page.wait_for_selector(f"{holder} .mt-chart[data-chart-kind='scatter_nominal'] svg")


def test_home_search_is_keyboard_usable(open_page: Any, site: Any) -> None:
    page = open_page("index.html")
    search = "#site-search"
    page.fill(search, "tree")
    page.wait_for_selector("#search-results [role=option]")
    titles = page.eval_on_selector_all(
        "#search-results .mt-search-title", "els => els.map(e => e.textContent)"
    )
    assert sorted(titles) == ["beta-run", "delta-run"]
    assert page.text_content("#search-results .mt-search-count") == "2 results."
    assert page.get_attribute(search, "aria-expanded") == "true"
    page.press(search, "ArrowDown")
    active = page.get_attribute(search, "aria-activedescendant")
    assert page.get_attribute(f"#{active}", "aria-selected") == "true"
    href = page.get_attribute(f"#{active} a", "href")
    assert href in (f"runs/{R2}/index.html", f"runs/{R5}/index.html")
    with page.expect_navigation():
        page.press(search, "Enter")
    assert page.url == (site / href).as_uri()
    page.wait_for_selector(".metric-chart svg")


def test_home_search_finds_params_tags_and_shows_names_as_text(open_page: Any, watch: Any) -> None:
    page = open_page("index.html")
    page.fill("#site-search", "onerror")
    page.wait_for_selector("#search-results [role=option]")
    assert page.text_content("#search-results .mt-search-title") == XSS_NAME
    assert page.locator("#search-results img").count() == 0
    page.fill("#site-search", "team=nlp")
    page.wait_for_function(
        "document.querySelector('#search-results .mt-search-title')?.textContent === 'beta-run'"
    )
    page.fill("#site-search", "churn")
    page.wait_for_function(
        "document.querySelector('#search-results .mt-kind')?.textContent === 'experiment'"
    )
    page.press("#site-search", "Escape")
    assert page.input_value("#site-search") == ""
    assert page.locator("#search-results [role=option]").count() == 0
    assert watch.dialogs == []


def test_run_page_uses_the_templates_own_x_buttons(open_page: Any) -> None:
    page = open_page(f"runs/{R2}/index.html")  # no data-run-id: the page's one run
    rmse = '.metric-chart[data-metric="rmse"]'
    page.wait_for_selector(f'{rmse}[data-chart-kind="history"] svg')
    assert page.locator(".mt-x-toggle").count() == 0  # none added beside the template's
    page.click('button[data-x="time"]')
    page.wait_for_selector(f'{rmse}[data-chart-kind="history_time"] svg')
    assert page.get_attribute('button[data-x="time"]', "aria-pressed") == "true"
    assert page.get_attribute('button[data-x="step"]', "aria-pressed") == "false"


def test_run_page_marks_non_finite_values(open_page: Any, watch: Any) -> None:
    page = open_page(f"runs/{R4}/index.html")
    rmse = '.metric-chart[data-metric="rmse"]'
    page.wait_for_selector(f'{rmse}[data-chart-kind="history"] svg')
    assert page.locator(f"{rmse} .mark-rule.role-mark line").count() == 2  # Infinity, NaN
    rows = page.evaluate(
        """() => MLTRAIL.charts.historyRows(MLTRAIL.data.runs.values().next().value.series.rmse)
            .filter((row) => row.value === null)"""
    )
    assert [(r["step"], r["nonfinite"]) for r in rows] == [(5, "Infinity"), (11, "NaN")]
    assert watch.dialogs == []


def test_parallel_rows_keep_the_metric_axis_last(open_page: Any) -> None:
    page = open_page("experiments/7/index.html")
    dims = page.evaluate(
        """() => {
            const runs = [
                {id: 'a', name: 'a', params: {b: '1'}, metrics: {m: 1}},
                {id: 'b', name: 'b', params: {a: 'x', b: '2'}, metrics: {m: 2}},
                {id: 'c', name: 'c', params: {a: 'y'}, metrics: {m: NaN}},
            ];
            const rows = MLTRAIL.charts.parallelRows(runs, ['a', 'z', 'b'], 'm');  // no z: no axis
            return {
                order: [...new Set(rows.map((r) => r.dimension))],
                norms: rows.map((r) => [r.run_id, r.dimension, r.norm]),
            };
        }"""
    )
    assert dims["order"] == ["a", "b", "m"]
    assert dims["norms"] == [
        ["a", "a", None],  # a lacks param a: its line breaks there
        ["b", "a", 0.5],  # one category left once c (NaN metric) is out
        ["a", "b", 0],
        ["b", "b", 1],
        ["a", "m", 0],
        ["b", "m", 1],
    ]
