"""An experiment of a few thousand runs: its columns load as needed, from ``file://``.

A store made with the real API, built by the generator, opened in Chromium: the table
draws from ``runs.js`` alone, loads the parts of the columns it shows, leaves the others
until something needs them (the column chooser, a filter), and sorts and filters every
run the way ``mltrail.search_runs`` does; a sort clicked before its column arrived
says it is pending and ends right, and the header never moves as values arrive.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import mltrail
from mltrail.store import FileStore
from mltrail_generator import build_site
from mltrail_generator.output.runcolumns import HEAD_RUNS
from tests.site.browse import Pages, serve, site_base

N_RUNS = 1_500
PART = re.compile(r"/experiments/[^/]+/runs-(\d+)-(\d+)\.js$")


def _log_runs() -> str:
    experiment_id = mltrail.create_experiment("many")
    for i in range(N_RUNS):
        with mltrail.start_run(experiment_id=experiment_id, run_name=f"run-{i:04d}"):
            mltrail.log_params({"lr": str([0.1, 0.01, 0.001][i % 3]), "depth": str(i % 7)})
            mltrail.log_metrics({"loss": ((i * 7919) % 1000) / 1000, "acc": (i % 100) / 100})
            mltrail.set_tag("mltrail.note", f"hidden-{i}")  # a hidden column's own part
    return experiment_id


@pytest.fixture
def many_site(tracking: FileStore, store_config: Any, tmp_path: Path) -> tuple[Path, str]:
    store_config(auto_commit=False)
    experiment_id = _log_runs()
    site = tmp_path / "site"
    build_site(tracking.root, site)
    return site, experiment_id


def _parts_of(watch_requests: list[str]) -> set[int]:
    """The field indices of the column parts the page asked for."""
    return {int(m.group(2)) for url in watch_requests if (m := PART.search(url))}


def _part_fields(site: Path, experiment_id: str) -> dict[int, list[str]]:
    """Field index -> [field] (each part holds one field of one chunk)."""
    runs_js = (site / "experiments" / experiment_id / "runs.js").read_text()
    payload = json.loads(runs_js[runs_js.index("(") + 1 : runs_js.rindex(")")])
    return {n: [name] for n, name in enumerate(payload["fields"])}


def test_columns_load_as_needed_and_sort_and_filter_every_run(
    pages: Pages, many_site: tuple[Path, str]
) -> None:
    site, experiment_id = many_site
    runs_js = (site / "experiments" / experiment_id / "runs.js").read_text()
    assert runs_js.count('"status":') == HEAD_RUNS  # the newest runs in full, no more
    page = pages.open(site_base(site), f"experiments/{experiment_id}/index.html")
    page.wait_for_selector("#runs-app tbody tr.mt-run")
    assert page.text_content(".mt-count") == f"{N_RUNS:,} runs"
    table = "document.querySelector('#runs-app').mltrailTable"
    shown = ["name", "metrics.loss", "params.lr"]
    page.wait_for_function(
        f"(fields) => fields.every((f) => {table}.experiment.loaded.has(f))", arg=shown
    )
    hidden_field = "tags.mltrail.note"
    assert not page.evaluate(f"{table}.experiment.loaded.has('{hidden_field}')")
    hidden_parts = {
        n for n, names in _part_fields(site, experiment_id).items() if hidden_field in names
    }
    assert hidden_parts and not hidden_parts & _parts_of(pages.watch.requests)

    # Sort by loss: every run takes part, in ascending order.
    page.click('#runs-app th[data-column="metrics.loss"] button')
    page.wait_for_selector('#runs-app th[data-column="metrics.loss"][aria-sort="ascending"]')
    values = page.evaluate(f"() => {table}.tree.runs.map((r) => r.metrics.loss)")
    assert len(values) == N_RUNS and values == sorted(values)

    # Scrolled to the end, the last rows are drawn in full (no cell still loading).
    page.eval_on_selector(".mt-table-scroll", "el => { el.scrollTop = el.scrollHeight; }")
    last = str(N_RUNS + 1)
    page.wait_for_selector(f'#runs-app tbody tr.mt-run[aria-rowindex="{last}"]')
    page.wait_for_function("() => !document.querySelector('#runs-app .mt-pending')")

    # A filter reads every column: the hidden ones are loaded, and the rows are search_runs'.
    expression = "metrics.loss < 0.3 and params.lr = '0.01'"
    expected = {
        run.info.run_id
        for run in mltrail.search_runs(
            experiment_ids=[experiment_id], filter_string=expression, output_format="list"
        )
    }
    assert 0 < len(expected) < N_RUNS
    page.fill(".mt-filter-input", expression)
    page.press(".mt-filter-input", "Enter")
    page.wait_for_function(
        "(n) => document.querySelector('.mt-count').textContent.startsWith(n + ' of')",
        arg=f"{len(expected):,}",
    )
    shown = page.evaluate(f"() => {table}.shown.map((r) => r.id)")
    assert set(shown) == expected
    assert hidden_parts <= _parts_of(pages.watch.requests)
    assert page.evaluate(f"{table}.experiment.runs.every((r) => r.id && r.complete)")


HEADER_BOXES = """() => {
  const table = document.querySelector("#runs-app table").getBoundingClientRect();
  return Array.from(document.querySelectorAll("#runs-app thead th"), (th) => {
    const box = th.getBoundingClientRect();
    return [th.dataset.column || "", box.left - table.left, box.width];
  });
}"""


def test_a_sort_clicked_before_its_column_arrived_ends_right_and_nothing_moves(
    pages: Pages, many_site: tuple[Path, str]
) -> None:
    site, experiment_id = many_site
    httpd, thread = serve(site)
    held: list[Any] = []
    holding = [True]

    def hold(route: Any) -> None:  # every column part waits until released
        if holding[0]:
            held.append(route)
        else:
            route.continue_()

    def release() -> None:
        holding[0] = False
        while held:
            held.pop(0).continue_()

    try:
        pages.context.route("**/runs-*-*.js", hold)
        base = f"http://127.0.0.1:{httpd.server_address[1]}/"
        page = pages.open(base, f"experiments/{experiment_id}/index.html")
        page.wait_for_selector("#runs-app tbody tr.mt-run")
        # Past the runs of runs.js, the cells wait for their parts.
        page.eval_on_selector(".mt-table-scroll", "el => { el.scrollTop = 600 * 34; }")
        page.wait_for_selector("#runs-app tbody .mt-pending")
        before = page.evaluate(HEADER_BOXES)
        table = "document.querySelector('#runs-app').mltrailTable"
        rows_before = page.evaluate(f"() => {table}.tree.runs.map((r) => r.id)")

        th = '#runs-app th[data-column="metrics.loss"]'
        page.click(f"{th} button")
        page.wait_for_selector(f"{th}.mt-sort-pending")
        assert page.get_attribute(th, "aria-sort") is None
        assert page.get_attribute("#runs-app", "aria-busy") == "true"
        assert (
            page.text_content(".mt-count") == "Sorting by loss once every run's values are loaded…"
        )
        assert page.evaluate(f"() => {table}.tree.runs.map((r) => r.id)") == rows_before
        loss = [
            n for n, names in _part_fields(site, experiment_id).items() if "metrics.loss" in names
        ]
        asked = _parts_of([route.request.url for route in held])
        assert set(loss) <= asked  # the sort asked for its column, still held back

        release()
        page.wait_for_selector(f'{th}[aria-sort="ascending"]')
        assert page.get_attribute("#runs-app", "aria-busy") is None
        assert page.text_content(".mt-count") == f"{N_RUNS:,} runs"
        values = page.evaluate(f"() => {table}.tree.runs.map((r) => r.metrics.loss)")
        assert len(values) == N_RUNS and values == sorted(values)
        page.eval_on_selector(".mt-table-scroll", "el => { el.scrollTop = 600 * 34; }")
        page.wait_for_function(
            f"() => {table}.experiment.loaded.has('name') && "
            "!document.querySelector('#runs-app .mt-pending')"
        )
        assert page.evaluate(HEADER_BOXES) == before
    finally:
        release()
        httpd.shutdown()
        httpd.server_close()
        thread.join()
