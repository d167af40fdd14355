"""The experiment page's runs table in Chromium, from file://: sort, filters, columns, selection."""

from __future__ import annotations

from typing import Any

from tests.site.browse import Watch
from tests.site_client.conftest import RUN_IDS, XSS_NAME

R1, R2, R3, R4, R5 = RUN_IDS
PAGE = "experiments/7/index.html"


def row_ids(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#runs-app tbody tr.mt-run", "rows => rows.map(r => r.dataset.runId)"
    )


def header_ids(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#runs-app thead th[data-column]", "ths => ths.map(t => t.dataset.column)"
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


def sort_by(page: Any, column: str) -> None:
    page.click(f'#runs-app th[data-column="{column}"] button')


def apply_filter(page: Any, text: str) -> None:
    page.fill(".mt-filter-input", text)
    page.press(".mt-filter-input", "Enter")


def test_table_renders_every_run_with_columns(open_page: Any) -> None:
    page = open_page(PAGE)
    assert row_ids(page) == RUN_IDS  # newest first, as in runs.js
    headers = header_ids(page)
    expected = [
        "attributes.run_name",
        "attributes.status",
        "attributes.start_time",
        "attributes.duration",
        "attributes.user_id",
        "attributes.commit",
        "metrics.rmse",  # the primary metric comes first
        "metrics.acc",
        "metrics.val-loss",
        "params.alpha",
        "params.batch size",
        "params.model",
        "tags.team",  # mlflow.* tags are hidden until asked for
    ]
    assert headers == expected
    assert page.text_content(".mt-count") == "5 runs"
    assert column_texts(page, "metrics.rmse") == ["0.9", "0.5", "0.7", "NaN", "—"]
    assert column_texts(page, "attributes.duration")[:2] == ["1m 01s", "2m 02s"]
    assert column_texts(page, "attributes.commit")[0] == "a1b2c3d4"
    link = page.get_attribute(f'#runs-app tr[data-run-id="{R1}"] a', "href")
    assert link == f"../../runs/{R1}/index.html"
    assert page.get_attribute("#runs-app table", "aria-rowcount") == "6"


def test_sort_by_metric_both_ways_missing_last(open_page: Any) -> None:
    page = open_page(PAGE)
    sort_by(page, "metrics.rmse")
    th = '#runs-app th[data-column="metrics.rmse"]'
    assert page.get_attribute(th, "aria-sort") == "ascending"
    assert row_ids(page) == [R2, R3, R1, R4, R5]  # 0.5, 0.7, 0.9, NaN, missing
    sort_by(page, "metrics.rmse")
    assert page.get_attribute(th, "aria-sort") == "descending"
    assert row_ids(page) == [R1, R3, R2, R4, R5]  # NaN and missing stay last
    # The header keeps keyboard focus across the re-render, and Enter sorts again.
    assert page.evaluate("document.activeElement.dataset.column") == "metrics.rmse"
    page.keyboard.press("Enter")
    assert page.get_attribute(th, "aria-sort") == "ascending"
    other = '#runs-app th[data-column="metrics.acc"]'
    assert page.get_attribute(other, "aria-sort") is None


def test_sort_numeric_params_by_number_and_text_by_text(open_page: Any) -> None:
    page = open_page(PAGE)
    sort_by(page, "params.alpha")  # 0.1, 0.5, 0.5, 2, 10: numbers, not strings
    assert row_ids(page) == [R1, R2, R4, R3, R5]
    sort_by(page, "attributes.user_id")
    assert column_texts(page, "attributes.user_id") == [
        "<b>mallory</b>",
        "alice",
        "alice",
        "bob",
        "carol",
    ]


def test_free_text_filter(open_page: Any) -> None:
    page = open_page(PAGE)
    page.fill(".mt-text-filter", "tree")
    page.wait_for_function("document.querySelector('.mt-count').textContent.includes('match')")
    assert row_ids(page) == [R2, R5]
    assert page.text_content(".mt-count") == "2 of 5 runs match"
    assert page.get_attribute(".mt-count", "aria-live") == "polite"
    page.fill(".mt-text-filter", "tree carol")  # every word must occur
    page.wait_for_function("document.querySelectorAll('#runs-app tr.mt-run').length === 1")
    assert row_ids(page) == [R5]
    page.fill(".mt-text-filter", "no-such-thing")
    page.wait_for_selector("#runs-app tr.mt-empty")
    assert page.text_content(".mt-count") == "0 of 5 runs match"


def test_mlflow_filter_expressions(open_page: Any) -> None:
    page = open_page(PAGE)
    cases = {
        "metrics.rmse < 0.8 and params.alpha = '0.5'": [R2],
        "attributes.status = 'FINISHED'": [R1, R3, R5],
        "status != 'FINISHED'": [R2, R4],
        "tags.team ILIKE 'VIS%'": [R1, R5],
        "tags.team LIKE 'VIS%'": [],
        "metrics.`val-loss` > 1": [R1],
        "params.`batch size` = '32'": [R1],
        "params.model != 'tree' AND metrics.acc >= 0.6": [R1, R4],
        "attributes.run_name LIKE '%run'": [R1, R2, R3, R5],
        f"attributes.run_id IN ('{R3}', '{R5}')": [R3, R5],
        "attributes.user_id = '<b>mallory</b>'": [R4],
    }
    for expression, expected in cases.items():
        apply_filter(page, expression)
        assert row_ids(page) == expected, expression
        assert page.get_attribute(".mt-filter-input", "aria-invalid") is None
    apply_filter(page, "")
    assert row_ids(page) == RUN_IDS


def test_bad_filter_shows_inline_error_and_keeps_the_table(open_page: Any) -> None:
    page = open_page(PAGE)
    apply_filter(page, "attributes.status = 'FAILED'")
    assert row_ids(page) == [R2]
    apply_filter(page, "metrics.rmse < 'a'")
    error = page.text_content(".mt-filter-error")
    assert error == "Invalid filter 'metrics.rmse < 'a'': metric 'rmse' needs a number, got 'a'"
    assert page.is_visible(".mt-filter-error")
    assert page.get_attribute(".mt-filter-input", "aria-invalid") == "true"
    assert row_ids(page) == [R2]  # the last good filter still applies
    apply_filter(page, "metrics.rmse < 1 or params.alpha = '1'")
    assert "'OR' is not supported" in page.text_content(".mt-filter-error")
    # Typing is checked too, after a pause, without pressing Enter.
    page.fill(".mt-filter-input", "params.alpha >")
    page.wait_for_function(
        "document.querySelector('.mt-filter-error').textContent.includes('expected a quoted')"
    )
    apply_filter(page, "metrics.rmse > 0")
    assert not page.is_visible(".mt-filter-error")
    assert row_ids(page) == [R1, R2, R3]


def test_column_chooser_is_remembered_in_the_url_hash(open_page: Any) -> None:
    page = open_page(PAGE)
    page.click(".mt-columns summary")
    page.uncheck('.mt-columns input[data-column="params.alpha"]')
    page.check('.mt-columns input[data-column="tags.mlflow.source.name"]')
    headers = header_ids(page)
    assert "params.alpha" not in headers
    assert "tags.mlflow.source.name" in headers
    assert page.is_disabled('.mt-columns input[data-column="attributes.run_name"]')
    assert page.text_content(".mt-columns summary") == "Columns (13/16)"
    sort_by(page, "metrics.acc")
    url = page.url
    assert "hide=params.alpha" in url and "show=tags.mlflow.source.name" in url
    assert "sort=metrics.acc" in url
    page.reload()
    assert header_ids(page) == headers
    assert page.get_attribute('#runs-app th[data-column="metrics.acc"]', "aria-sort") == "ascending"
    assert page.is_checked('.mt-columns input[data-column="tags.mlflow.source.name"]')
    page.click(".mt-columns summary")
    page.keyboard.press("Escape")  # closes the chooser, focus back on its button
    assert not page.is_visible(".mt-columns-body")
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Enter")
    assert page.is_visible(".mt-columns-body")
    page.click(".mt-columns-actions button:has-text('Defaults')")
    assert "params.alpha" in header_ids(page)
    assert "hide=" not in page.url


def test_filter_and_query_survive_a_reload(open_page: Any, watch: Watch) -> None:
    page = open_page(PAGE)
    apply_filter(page, "params.model = 'tree'")
    page.fill(".mt-text-filter", "carol")
    page.wait_for_function("document.querySelectorAll('#runs-app tr.mt-run').length === 1")
    # A reload aborts what the page is still loading (the chart library comes lazily, at
    # a time no load state pins down): expected, not a failure of the page.
    watch.ignored.append(lambda problem: "net::ERR_ABORTED" in problem)
    page.reload()
    assert page.input_value(".mt-filter-input") == "params.model = 'tree'"
    assert page.input_value(".mt-text-filter") == "carol"
    assert row_ids(page) == [R5]


def test_selecting_two_runs_gives_a_compare_link(open_page: Any) -> None:
    page = open_page(PAGE)
    link = "#runs-app a.mt-compare"
    assert page.get_attribute(link, "href") is None
    assert page.get_attribute(link, "aria-disabled") == "true"
    page.check(f'#runs-app input[data-run-id="{R1}"]')
    assert page.get_attribute(link, "href") is None
    page.check(f'#runs-app input[data-run-id="{R3}"]')
    assert page.get_attribute(link, "href") == f"../../compare/index.html?runs={R1},{R3}"
    assert page.text_content(link) == "Compare 2 runs"
    # Selection survives sorting and filtering (it is kept by id, not by row).
    sort_by(page, "metrics.rmse")
    assert page.is_checked(f'#runs-app input[data-run-id="{R3}"]')
    page.click(link)
    page.wait_for_selector("#compare-app table[data-table='params']")
    assert page.url.endswith(f"compare/index.html?runs={R1},{R3}")


def test_hostile_values_show_as_text(open_page: Any, watch: Any) -> None:
    page = open_page(PAGE)
    name_cell = page.text_content(f'#runs-app tr[data-run-id="{R4}"] a')
    assert name_cell == XSS_NAME
    assert column_texts(page, "params.model")[3] == "<script>alert(2)</script>"
    assert column_texts(page, "tags.team")[3] == '"><svg onload=alert(3)>'
    assert page.locator("#runs-app img").count() == 0
    assert page.locator("#runs-app tbody script").count() == 0
    assert page.locator("#runs-app tbody svg").count() == 0
    page.fill(".mt-text-filter", "onerror")
    page.wait_for_function("document.querySelectorAll('#runs-app tr.mt-run').length === 1")
    page.wait_for_timeout(300)
    assert watch.dialogs == []


def test_page_loads_only_local_files(open_page: Any, watch: Any) -> None:
    page = open_page(PAGE)
    page.wait_for_selector("#experiment-charts svg")
    assert watch.requests and all(url.startswith("file://") for url in watch.requests)
    assert any(url.endswith("/experiments/7/runs.js") for url in watch.requests)
