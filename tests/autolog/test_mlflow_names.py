"""The names autologging produces are MLflow's: the same script under both, compared.

MLflow runs in a subprocess (it patches scikit-learn too, and mltrail never imports
it); the test is skipped where the ``mlflow`` package is not installed.  Models are
not logged on either side, which keeps it fast: only names are compared here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mltrail.store import FileStore

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mlflow") is None, reason="the mlflow package is not installed"
)

SCRIPT = """
import json, os, sys

if sys.argv[1] == "mlflow":
    import mlflow as lib
    lib.set_tracking_uri("file:" + os.path.abspath("mlruns"))
else:
    import mltrail as lib
    lib.set_tracking_uri(sys.argv[2])
lib.sklearn.autolog(log_models=False)
import sklearn.metrics
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

client = lib.MlflowClient()


def names(run_id):
    run = client.get_run(run_id)
    tags = run.data.tags
    return {
        "params": sorted(run.data.params),
        "metrics": sorted(run.data.metrics),
        "tags": sorted(k for k in tags if not k.startswith("mlflow.") or k == "mlflow.autologging"),
        "artifacts": sorted(f.path for f in client.list_artifacts(run_id)),
        "status": run.info.status,
    }


def last():
    return lib.last_active_run().info.run_id


report = {}
X, y = make_classification(n_samples=60, n_features=4, random_state=0)
model = LogisticRegression().fit(X[:40], y[:40])
binary = last()
X_test, y_test = X[40:], y[40:]
pred = model.predict(X_test)
sklearn.metrics.accuracy_score(y_test, pred)
sklearn.metrics.accuracy_score(y_test, pred)
sklearn.metrics.f1_score(y_test, y_pred=pred)
model.score(X_test, y_test)
sklearn.metrics.accuracy_score(y[50:], model.predict(X[50:]))
report["binary"] = names(binary)
Xi, yi = load_iris(return_X_y=True)
LogisticRegression(max_iter=300).fit(Xi, yi)
report["multiclass"] = names(last())
Xr, yr = make_regression(n_samples=30, n_features=3, random_state=0)
LinearRegression().fit(Xr, yr)
report["regressor"] = names(last())
pipe = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression())])
with lib.start_run() as run:
    GridSearchCV(pipe, {"lr__C": [0.1, 1.0, 10.0]}, cv=2).fit(Xi, yi)
report["search"] = names(run.info.run_id)
children = client.search_runs(
    [run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'"
)
report["children"] = [names(c.info.run_id) for c in children]
print("REPORT " + json.dumps(report))
"""


def _start(lib: str, folder: Path, store: FileStore) -> subprocess.Popen[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "names.py").write_text(SCRIPT)
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true"}
    return subprocess.Popen(
        [sys.executable, "names.py", lib, str(store.root)],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _report(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    line = next(x for x in out.splitlines() if x.startswith("REPORT "))
    return json.loads(line.removeprefix("REPORT "))  # type: ignore[no-any-return]


CASES = ("binary", "multiclass", "regressor", "search")


def test_same_names_as_mlflow(store: FileStore, tmp_path: Path) -> None:
    theirs = _start("mlflow", tmp_path / "mlflow", store)
    ours = _start("mltrail", tmp_path / "mltrail", store)
    expected, got = _report(theirs), _report(ours)
    if any(expected[case]["status"] != "FINISHED" for case in CASES):
        # MLflow's own reference run failed now and then in CI (the regressor's run
        # FAILED, with nothing logged, while the script exited 0): take it once more.
        expected = _report(_start("mlflow", tmp_path / "mlflow-again", store))
    for case in CASES:
        assert got[case] == expected[case], case
    assert len(got["children"]) == len(expected["children"]) == 3
    assert got["children"][0] == expected["children"][0]
