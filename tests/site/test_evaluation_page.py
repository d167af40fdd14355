"""The run page's Evaluation section, built from a store where ``mltrail.evaluate`` ran,
checked in Chromium: the metrics, the per-class table and the plots inline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import mltrail
from mltrail.store import FileStore
from mltrail_generator import build_site
from mltrail_generator.urls import run_page
from tests.site.browse import Pages, site_base

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")


def _evaluated_store(tracking: FileStore) -> tuple[str, str]:
    """Two runs: a multiclass model with hostile class names, and one with no evaluation."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    names = ["<b>setosa</b>", "versicolor", "virginica"]
    X = pd.DataFrame({"a": [float(i % 7) for i in range(30)], "b": [float(i) for i in range(30)]})
    y = [names[i % 3] for i in range(30)]
    model = LogisticRegression(max_iter=2000).fit(X, y)
    with mltrail.start_run() as run:
        mltrail.evaluate(
            lambda df: model.predict(df), X.assign(label=y), targets="label",
            model_type="classifier", evaluator_config={"metric_prefix": "val_"},
        )  # fmt: skip
    with mltrail.start_run() as plain:
        mltrail.log_metric("example_count", 3)  # one default metric alone is no evaluation
    return run.info.run_id, plain.info.run_id


def test_run_page_shows_the_evaluation_near_the_top(
    tracking: FileStore, tmp_path: Path, pages: Pages
) -> None:
    run_id, plain_id = _evaluated_store(tracking)
    site = tmp_path / "site"
    build_site(tracking.root, site)
    page: Any = pages.open(site_base(site), run_page(run_id))
    headings = page.eval_on_selector_all("main h2", "hs => hs.map((h) => h.textContent.trim())")
    assert headings.index("Evaluation") < headings.index("Parameters")
    section = page.locator("section.mt-evaluation")
    assert section.locator("h3").inner_text() == "Classifier val_"
    metric_keys = section.locator(".mt-evaluation-metrics tbody th").all_inner_texts()
    assert metric_keys[:2] == ["val_example_count", "val_accuracy_score"]
    header = section.locator(".mt-per-class thead th").all_inner_texts()
    assert header[0] == "positive_class"
    first_class = section.locator(".mt-per-class tbody tr td").first
    assert first_class.inner_text() == "<b>setosa</b>"  # shown as text, never as markup
    assert section.locator(".mt-per-class b").count() == 0
    plots = section.locator("figure.mt-evaluation-plot")
    assert plots.evaluate_all("fs => fs.map((f) => f.dataset.plot)") == ["confusion_matrix"]
    image = plots.first.locator("img")
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    other = pages.open(site_base(site), run_page(plain_id))
    assert other.locator("section.mt-evaluation").count() == 0
