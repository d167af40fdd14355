"""MLflow 3's logged models and datasets through the server: log_model, get/search
logged models, metrics linked with model_id, log_input and the run's inputs."""

import json

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

X = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.9, 0.1]])
y = np.array([0, 1, 0, 1])
df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": y})
mlflow.set_experiment("logged-models")
with mlflow.start_run() as run:
    mlflow.log_param("C", "1.0")
    mlflow.log_metric("acc", 0.75, step=0)
    mlflow.log_input(mlflow.data.from_pandas(df, name="train-df"), context="training")
    model = LogisticRegression(max_iter=50).fit(X, y)
    info = mlflow.sklearn.log_model(
        model, name="clf", params={"kind": "logreg"}, tags={"team": "a"}, model_type="classifier"
    )
    mlflow.log_metric("auc", 0.9, step=0, model_id=info.model_id)
    second = mlflow.sklearn.log_model(model, name="clf")
got = mlflow.get_logged_model(info.model_id)
c = MlflowClient()
c.set_logged_model_tags(info.model_id, {"stage": "dev", "drop": "x"})
c.delete_logged_model_tag(info.model_id, "drop")
after = mlflow.get_logged_model(info.model_id)
found = mlflow.search_logged_models(output_format="list")
filtered = mlflow.search_logged_models(
    filter_string="name = 'clf' AND metrics.auc > 0.5", output_format="list"
)
ordered = mlflow.search_logged_models(
    order_by=[{"field_name": "creation_time", "ascending": False}], output_format="list"
)
r = mlflow.get_run(run.info.run_id)
inputs = r.inputs.dataset_inputs
loaded = mlflow.sklearn.load_model(info.model_uri)
by_run = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/clf")
try:
    mlflow.create_external_model(name="outside")
    outside = "created"
except mlflow.exceptions.MlflowException as e:
    outside = e.error_code
out = {
    "model_id": info.model_id,
    "second": second.model_id,
    "run": run.info.run_id,
    "experiment": run.info.experiment_id,
    "got": [got.name, got.source_run_id, got.experiment_id, str(got.status), got.model_type],
    "params": got.params,
    "tags": {k: v for k, v in after.tags.items() if not k.startswith("mlflow.")},
    "metrics": sorted((m.key, m.value, m.step) for m in got.metrics),
    "artifact_location": got.artifact_location,
    "found": sorted(m.model_id for m in found),
    "filtered": [m.model_id for m in filtered],
    "ordered": [m.model_id for m in ordered],
    "inputs": [
        [d.dataset.name, d.dataset.digest, d.dataset.source_type, {t.key: t.value for t in d.tags}]
        for d in inputs
    ],
    "outputs": sorted(o.model_id for o in r.outputs.model_outputs),
    "run_metrics": {k: len(c.get_metric_history(run.info.run_id, k)) for k in r.data.metrics},
    "predict": [loaded.predict(X).tolist(), by_run.predict(X).tolist(), model.predict(X).tolist()],
    "outside": outside,
}
print(json.dumps(out))
