"""MLflow 3's records in the site: a run's datasets and logged models (with their linked
metrics), the Datasets index, a digest's page listing every run that used it, search,
incremental rebuilds, escaping and damaged records."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mltrail
from mltrail.store import FileStore
from mltrail_generator import build_site, urls
from mltrail_generator.gather.inputs import dataset_slug
from tests.generator.conftest import files_of

HOSTILE = "<script>alert(1)</script>"


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(6.0), "y": [0, 1, 0, 1, 0, 1]})


def _log_two_runs() -> dict[str, str]:
    """Two runs on the same dataset; the second links a metric to the first's model."""
    ds = mltrail.data.from_pandas(_frame(), name="toy", targets="y")
    with mltrail.start_run(run_name="train") as first:
        mltrail.log_input(ds, context="training")
        info = mltrail.pyfunc.log_model(name="model", python_model=_Echo())
        mltrail.log_metric("acc", 0.5, model_id=info.model_id, dataset=ds)
        mltrail.log_metric("acc", 0.75, step=1, model_id=info.model_id, dataset=ds)
    with mltrail.start_run(run_name="check") as second:
        mltrail.log_input(ds, context="evaluation")
        mltrail.log_metric("acc_eval", 0.7, model_id=info.model_id, dataset=ds)
    return {
        "first": first.info.run_id,
        "second": second.info.run_id,
        "model": info.model_id,
        "digest": ds.digest,
    }


class _Echo(mltrail.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        return model_input


def _page(site: Path, run_id: str) -> str:
    """A run page up to its artifacts, without its source diff (a dirty checkout running
    the tests shows one, in the overview and as an artifact)."""
    page = (site / urls.run_page(run_id)).read_text()
    page = page[: page.index('<h2 id="artifacts-heading"')]
    return re.sub(r'<details class="mt-diff">.*?</details>', "", page, flags=re.S)


def _section(page: str, heading: str) -> str:
    start = page.index(f'<h2 id="{heading}"')
    return page[start : page.index("</section>", start)]


def test_a_run_page_shows_its_datasets_and_links_the_digest_page(
    tracking: FileStore, tmp_path: Path
) -> None:
    ids = _log_two_runs()
    site = tmp_path / "site"
    build_site(tracking, site)
    section = _section(_page(site, ids["first"]), "datasets-heading")
    assert ">toy</a>" in section and ">training</span>" in section
    assert ids["digest"] in section
    assert "<code>x</code>" in section  # the schema's columns
    slug = dataset_slug(ids["digest"])
    assert f'href="../../datasets/{slug}.html"' in section

    digest_page = (site / urls.dataset_page(slug)).read_text()
    runs = _section(digest_page, "runs-heading")
    assert "Runs that used it (2)" in runs
    # Newest first, each with the context it gave the dataset.
    assert runs.index(ids["second"]) < runs.index(ids["first"])
    assert "evaluation" in runs and "training" in runs

    index = (site / urls.DATASETS).read_text()
    assert f'href="../datasets/{slug}.html"' in index and ">2</td>" in index
    assert 'href="../../datasets/index.html"' in (site / urls.run_page(ids["first"])).read_text()


def test_runs_using_a_digest_are_found_by_site_search(tracking: FileStore, tmp_path: Path) -> None:
    ids = _log_two_runs()
    site = tmp_path / "site"
    build_site(tracking, site)
    index = (site / urls.SEARCH).read_text()
    payload = json.loads(index[index.index("(") + 1 : index.rindex(")")])
    found = [e for e in payload["entries"] if e["kind"] == "dataset"]
    assert [e["title"] for e in found] == ["toy"]
    assert ids["digest"] in found[0]["text"]
    assert found[0]["url"] == urls.dataset_page(dataset_slug(ids["digest"]))


def test_the_models_section_shows_a_logged_model_with_its_linked_metrics(
    tracking: FileStore, tmp_path: Path
) -> None:
    ids = _log_two_runs()
    site = tmp_path / "site"
    build_site(tracking, site)
    models = _section(_page(site, ids["first"]), "models-heading")
    assert ids["model"] in models
    assert "python_function" in models  # flavors, read from the MLmodel
    linked = models[models.index("mt-linked-metrics") :]
    rows = re.findall(r"<tr>(.*?)</tr>", linked, re.S)[1:]
    cells = [re.sub(r"<[^>]+>", "", r).split() for r in rows]
    # The latest value per key, run and dataset: 0.75 at step 1, not 0.5.
    assert ["acc", "0.75", "1", "toy", "this", "run"] in cells
    assert any(c[:4] == ["acc_eval", "0.7", "0", "toy"] and "check" in c for c in cells)
    assert f"runs/{ids['second']}/index.html" in linked


def test_a_new_run_on_the_same_dataset_rebuilds_its_page(
    tracking: FileStore, tmp_path: Path
) -> None:
    ids = _log_two_runs()
    site = tmp_path / "site"
    build_site(tracking, site)
    page_path = urls.dataset_page(dataset_slug(ids["digest"]))
    before = (site / page_path).stat().st_mtime_ns
    build_site(tracking, site)
    assert (site / page_path).stat().st_mtime_ns == before  # unchanged inputs: not written
    ds = mltrail.data.from_pandas(_frame(), name="toy", targets="y")
    with mltrail.start_run(run_name="third") as third:
        mltrail.log_input(ds, context="training")
    build_site(tracking, site)
    page = (site / page_path).read_text()
    assert "Runs that used it (3)" in page and third.info.run_id in page


def test_hostile_dataset_fields_are_escaped_and_stay_in_the_site(
    tracking: FileStore, tmp_path: Path
) -> None:
    ds = mltrail.data.from_pandas(_frame(), name=HOSTILE)
    record = {
        **ds.to_dict(),
        "digest": "../../../evil/../" + HOSTILE,
        "schema": json.dumps({"mlflow_colspec": [{"name": HOSTILE, "type": HOSTILE}]}),
        "profile": json.dumps({HOSTILE: HOSTILE}),
    }
    with mltrail.start_run():
        mltrail.log_input(_Record(record), context=HOSTILE)
    site = tmp_path / "site"
    build_site(tracking, site)
    pages = files_of(site)
    assert all(HOSTILE.encode() not in body for path, body in pages.items()
               if path.endswith(".html"))  # fmt: skip
    assert all(not p.startswith("evil") and ".." not in p for p in pages)
    slug = dataset_slug(record["digest"])
    assert slug.startswith("dh-") and f"datasets/{slug}.html" in pages


class _Record:
    """A dataset given as a plain mapping (what ``mltrail.data`` objects turn into)."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields

    def to_dict(self) -> dict[str, str]:
        return self.fields


def test_damaged_inputs_cost_only_their_section(
    tracking: FileStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ids = _log_two_runs()
    (tracking.run_path(ids["first"]) / "inputs.yaml").write_text("datasets: [oops\n")
    record = next((tracking.run_path(ids["first"]) / "logged-models").iterdir()) / "model.yaml"
    record.write_text("model_id: 3\n")
    site = tmp_path / "site"
    build_site(tracking, site)
    page = _page(site, ids["first"])
    assert '<h2 id="datasets-heading"' not in page and '"mt-table mt-linked' not in page
    assert "inputs" in caplog.text and "logged model" in caplog.text
    # The other run and the digest's page are still there.
    digest_page = (site / urls.dataset_page(dataset_slug(ids["digest"]))).read_text()
    assert ids["second"] in digest_page and ids["first"] not in digest_page
