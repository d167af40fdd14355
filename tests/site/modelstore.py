"""A store with a model registry for the site tests, made with the real API in a real git
repository: scikit-learn models logged with ``mltrail.sklearn.log_model``, registered,
transitioned and aliased (every change one commit), plus a model whose name, description,
tags and version description are XSS payloads.

``make_model_store(folder)`` writes ``folder/project`` (a git repository; the store is
``project/runs``) and returns what the tests look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

import mltrail
from mltrail.store import init_store
from mltrail.tracking import context
from tests.conftest import make_repo

SCRIPT = "<script>alert(1)</script>"
ATTR = "\"'><img src=x onerror=alert(2)>"
CLOSE = "</script><script>alert(3)</script>"
#: Model names cannot hold "/" or ":" (models:/ URIs), so no closing tag here.
HOSTILE_NAME = f"{ATTR} <b onmouseover=alert(4)>"
HOSTILE_MARKDOWN = f"""# Card {SCRIPT}

<img src=x onerror=alert(5)> [link](javascript:alert(6)) <a href="javascript:alert(7)">raw</a>

<div style="x" onclick="alert(8)">{CLOSE}</div>
"""
DESCRIPTION = "Predicts **churn** from usage.\n\n- trained weekly"
EXPERIMENT = "churn-exp"


@dataclass(frozen=True)
class ModelStore:
    repo: Path
    store: Path
    #: Run name -> id: "a" (churn v1), "b" (v2, also the hostile model's v1), "c" (v3),
    #: "d" (two models logged, none registered).
    runs: dict[str, str]


@contextmanager
def isolated(project: Path, gitconfig: Path) -> Iterator[None]:
    """No outside mltrail/MLflow/git settings; a git identity; the project as the cwd."""
    with pytest.MonkeyPatch.context() as mp:
        for var in list(os.environ):
            if var.startswith(("MLTRAIL_", "MLFLOW_", "GIT_")):
                mp.delenv(var)
        mp.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        mp.setenv("MLTRAIL_USER", "ana")
        mp.chdir(project)
        try:
            yield
        finally:
            while mltrail.active_run() is not None:
                mltrail.end_run()
            context.close_all()
            context.reset_tracking_uri()


def _train(run_name: str, c: float, *paths: str) -> str:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import mltrail.sklearn

    x = pd.DataFrame({"tenure": [1.0, 5.0, 2.0, 8.0], "calls": [3, 0, 4, 1]})
    y = [1, 0, 1, 0]
    with mltrail.start_run(run_name=run_name) as run:
        mltrail.log_param("C", c)
        mltrail.log_metrics({"auc": 0.8 + c / 100, "loss": 0.5 - c / 100, "f1": 0.7})
        model = LogisticRegression(C=c).fit(x, y)
        for path in paths:
            mltrail.sklearn.log_model(model, path, input_example=x.head(2))
        return str(run.info.run_id)


def fill_registry(store: Path) -> dict[str, str]:
    """Runs and registry changes through the public API (auto-commit on: one commit each)."""
    mltrail.set_tracking_uri(store)
    mltrail.set_experiment(EXPERIMENT)
    runs = {name: _train(name, c, "model") for name, c in (("a", 1.0), ("b", 2.0), ("c", 3.0))}
    runs["d"] = _train("d", 4.0, "model", "extra/model")
    for name in ("a", "b", "c"):
        mltrail.register_model(f"runs:/{runs[name]}/model", "churn")
    client = mltrail.Client()
    client.transition_model_version_stage("churn", 1, "Production")
    client.transition_model_version_stage("churn", 2, "Production", archive_existing_versions=True)
    client.transition_model_version_stage("churn", 3, "Staging")
    client.set_registered_model_alias("churn", "champion", 2)
    client.set_registered_model_alias("churn", "challenger", 3)
    client.update_registered_model("churn", description=DESCRIPTION)
    mltrail.register_model(f"runs:/{runs['b']}/model", HOSTILE_NAME)
    client.update_registered_model(HOSTILE_NAME, description=HOSTILE_MARKDOWN)
    client.set_registered_model_tag(HOSTILE_NAME, "owner", CLOSE)
    client.update_model_version(HOSTILE_NAME, 1, description=SCRIPT)
    client.set_registered_model_alias(HOSTILE_NAME, "prod-1", 1)
    mltrail.flush()
    return runs


def make_model_store(folder: Path) -> ModelStore:
    gitconfig = folder / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Reg Istrar\n\temail = reg@example.com\n")
    project = folder / "project"
    with isolated(folder, gitconfig):
        make_repo(project)
        os.chdir(project)
        store, _ = init_store(project / "runs")
        runs = fill_registry(store.root)
    return ModelStore(project, project / "runs", runs)
