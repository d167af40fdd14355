"""MLflow-documented snippets, run through ``import mltrail as mlflow`` and through real
mlflow 3.17.2, comparing what each records.

Each snippet is our own copy, written from MLflow's documentation of the functions it
calls; it takes the module (``mltrail`` or ``mlflow``) and returns a plain dict of what
it observed, with ids and times left out.  Later work adds snippets to ``SNIPPETS``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

MLFLOW_PYTHON = Path("/work/venvs/mlflow/bin/python")

SNIPPETS: dict[str, str] = {
    # log_model -> get_logged_model -> search_logged_models with a filter -> load by models:/
    "logged_model": """
        import pandas as pd
        from sklearn.linear_model import LogisticRegression
        X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
        y = [0, 1, 0, 1]
        with mlflow.start_run() as run:
            mlflow.log_param("C", "1.0")
            info = mlflow.sklearn.log_model(LogisticRegression().fit(X, y), name="clf",
                                            params={"penalty": "l2"}, tags={"team": "a"},
                                            model_type="classifier")
            mlflow.log_metric("acc", 0.75, model_id=info.model_id)
        model = mlflow.get_logged_model(info.model_id)
        found = mlflow.search_logged_models(filter_string="name = 'clf' AND metrics.acc > 0.5",
                                            output_format="list")
        none = mlflow.search_logged_models(filter_string="params.penalty = 'l1'",
                                           output_format="list")
        frame = mlflow.search_logged_models()
        mlflow.set_logged_model_tags(info.model_id, {"stage": "candidate"})
        loaded = mlflow.pyfunc.load_model(f"models:/{info.model_id}")
        result = {
            "id_form": info.model_id.startswith("m-") and len(info.model_id) == 34,
            "uri": info.model_uri == f"models:/{info.model_id}",
            "name": model.name,
            "source_run": model.source_run_id == run.info.run_id,
            "status": str(model.status).split(".")[-1],
            "model_type": model.model_type,
            "params": model.params,
            "user_tags": {k: v for k, v in model.tags.items() if not k.startswith("mlflow.")},
            "metrics": [(m.key, m.value, m.step, m.run_id == run.info.run_id)
                        for m in model.metrics],
            "found": [m.model_id == info.model_id for m in found],
            "none": len(none),
            "columns": sorted(frame.columns),
            "tag_after": mlflow.get_logged_model(info.model_id).tags["stage"],
            "last": mlflow.last_logged_model().model_id == info.model_id,
            "prediction": [int(v) for v in loaded.predict(X)],
            "outputs": [o.model_id == info.model_id for o in
                        mlflow.get_run(run.info.run_id).outputs.model_outputs],
            "model_uri": model.model_uri == info.model_uri,
        }
        version = mlflow.register_model(info.model_uri, "clf-model")
        result["version"] = (version.version, version.run_id == run.info.run_id,
                             version.model_id == info.model_id)
    """,
    # log_input of from_pandas, and log_metric with model_id and dataset
    "datasets": """
        import numpy as np
        import pandas as pd
        df = pd.DataFrame({"x": [1.5, 2.5, 3.5], "s": ["a", "b", "c"], "y": [0, 1, 0]})
        ds = mlflow.data.from_pandas(df, source="data/train.csv", targets="y", name="train")
        arr = mlflow.data.from_numpy(np.arange(6.0).reshape(3, 2), targets=np.array([0, 1, 0]),
                                     source="s3://bucket/x.npy")
        from sklearn.linear_model import LinearRegression
        with mlflow.start_run() as run:
            mlflow.log_input(ds, context="training", tags={"split": "a"})
            mlflow.log_input(arr, context="eval")
            info = mlflow.sklearn.log_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]),
                                            name="lr")
            mlflow.log_metric("rmse", 0.5, step=3, model_id=info.model_id, dataset=ds)
            mlflow.log_metrics({"r2": 0.9}, step=3, model_id=info.model_id, dataset=arr)
            mlflow.log_metric("loss", 0.25)  # step 0: the model logged at step 0 takes it
        got = mlflow.get_run(run.info.run_id)
        inputs = [
            {"name": i.dataset.name, "digest": i.dataset.digest,
             "source_type": i.dataset.source_type, "source": json.loads(i.dataset.source),
             "schema": json.loads(i.dataset.schema), "profile": json.loads(i.dataset.profile),
             "tags": sorted((t.key, t.value) for t in i.tags)}
            for i in got.inputs.dataset_inputs
        ]
        model = mlflow.get_logged_model(info.model_id)
        result = {
            "digests": [ds.digest, arr.digest],
            "inputs": sorted(inputs, key=lambda i: i["name"] + i["digest"]),
            "metrics": sorted((m.key, m.value, m.step, m.dataset_name, m.dataset_digest)
                              for m in model.metrics),
            "run_metrics": got.data.metrics,
            "dataset_filter": [m.model_id == info.model_id for m in mlflow.search_logged_models(
                datasets=[{"dataset_name": "train"}], output_format="list")],
        }
        # search results carry their inputs and outputs too (fluent and client search)
        for found in (mlflow.search_runs(output_format="list")[0],
                      mlflow.MlflowClient().search_runs([run.info.experiment_id])[0]):
            result.setdefault("searched", []).append((
                sorted((i.dataset.name, i.dataset.digest, sorted((t.key, t.value) for t in i.tags))
                       for i in found.inputs.dataset_inputs),
                [o.model_id == info.model_id for o in found.outputs.model_outputs],
            ))
    """,
}

_PRELUDE = """
import json, os, sys
{imports}
mlflow.set_tracking_uri({uri!r})
"""


def _run(python: str, imports: str, uri: str, body: str, cwd: Path, env: dict[str, str]) -> dict:
    code = _PRELUDE.format(imports=imports, uri=uri) + textwrap.dedent(body)
    code += "\nprint('RESULT=' + json.dumps(result, sort_keys=True, default=str))\n"
    script = cwd / "snippet.py"
    script.write_text(code)
    done = subprocess.run(
        [python, str(script)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT="))
    return json.loads(line[len("RESULT=") :])


@pytest.mark.skipif(not MLFLOW_PYTHON.exists(), reason="needs the mlflow 3.17.2 venv")
@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_snippet_records_what_mlflow_records(name: str, tmp_path: Path) -> None:
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", "MLTRAIL_AUTO_COMMIT": "0"}
    env.pop("MLFLOW_TRACKING_URI", None)
    (tmp_path / "ml").mkdir()
    (tmp_path / "tr").mkdir()
    theirs = _run(
        str(MLFLOW_PYTHON), "import mlflow", (tmp_path / "ml" / "mlruns").as_uri(),
        SNIPPETS[name], tmp_path / "ml", env,
    )  # fmt: skip
    ours = _run(
        sys.executable, "import mltrail as mlflow", str(tmp_path / "tr" / "store"),
        SNIPPETS[name], tmp_path / "tr", env,
    )  # fmt: skip
    assert ours == theirs
