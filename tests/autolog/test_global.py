"""``mltrail.autolog()``: dispatching to scikit-learn, now or when it is first imported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mltrail
from mltrail.store import FileStore
from tests.autolog.conftest import all_runs, last_run


def test_global_autolog_enables_sklearn(autolog: Any, binary: tuple[Any, Any]) -> None:
    from sklearn.linear_model import LogisticRegression

    mltrail.autolog(log_models=False, extra_tags={"via": "global"})
    LogisticRegression().fit(*binary)
    run = last_run()
    assert run.data.tags["via"] == "global"
    assert "model" not in {f.path for f in mltrail.list_artifacts(run.info.run_id)}
    mltrail.autolog(disable=True)
    LogisticRegression().fit(*binary)
    assert len(all_runs()) == 1


def test_exclude_flavors(autolog: Any, binary: tuple[Any, Any]) -> None:
    from sklearn.linear_model import LogisticRegression

    mltrail.autolog(exclude_flavors=["sklearn"])
    LogisticRegression().fit(*binary)
    assert all_runs() == []


def test_explicit_sklearn_config_wins(autolog: Any, binary: tuple[Any, Any]) -> None:
    from sklearn.linear_model import LogisticRegression

    autolog(log_models=False)
    mltrail.autolog(log_models=True)  # as mlflow.autolog: the explicit configuration stays
    LogisticRegression().fit(*binary)
    run_id = last_run().info.run_id
    assert "model" not in {f.path for f in mltrail.list_artifacts(run_id)}
    mltrail.autolog(disable=True)  # but disabling turns it off
    LogisticRegression().fit(*binary)
    assert len(all_runs()) == 1


SCRIPT = """
import json, sys
import mltrail

import mltrail.sklearn

mltrail.set_tracking_uri("runs")
mltrail.autolog(log_models=False)
report = {"sklearn_imported_by_autolog": "sklearn" in sys.modules}
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier

X, y = load_iris(return_X_y=True)
DecisionTreeClassifier(max_depth=2).fit(X, y)
run = mltrail.last_active_run()
report["metrics"] = sorted(run.data.metrics)
report["loader_is_real"] = type(sys.modules["sklearn"].__spec__.loader).__module__
print(json.dumps(report))
"""


def test_autolog_before_importing_sklearn(store: FileStore, repo: Path, run_script: Any) -> None:
    proc = run_script(SCRIPT, cwd=repo, check=True)
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["sklearn_imported_by_autolog"] is False
    assert "training_accuracy_score" in report["metrics"]
    assert not report["loader_is_real"].startswith("mltrail")
