"""The fluent API against mltrail server: params, metrics, tags, nested runs, artifacts,
search_runs into pandas."""

import json
import os
import tempfile

import mlflow
from mlflow import MlflowClient

mlflow.set_experiment("churn")
with mlflow.start_run(run_name="parent") as parent:
    mlflow.log_param("alpha", 0.5)
    mlflow.log_params({"l1": 0.1, "depth": 3})
    for step in range(3):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_metrics({"auc": 0.9, "acc": 0.8})
    mlflow.set_tag("team", "growth")
    mlflow.set_tags({"a": "1", "b": "2"})
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_metric("x", 1)
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "notes.txt")
    with open(path, "w") as f:
        f.write("hello")
    mlflow.log_artifact(path)
    mlflow.log_artifact(path, artifact_path="docs")
    mlflow.log_text("text", "t/a.txt")
    mlflow.log_dict({"k": 1}, "d.json")
c = MlflowClient()
r = c.get_run(parent.info.run_id)
local = mlflow.artifacts.download_artifacts(
    run_id=parent.info.run_id, artifact_path="docs/notes.txt"
)
with open(local) as f:
    downloaded = f.read()
df = mlflow.search_runs(experiment_names=["churn"], order_by=["attributes.start_time ASC"])
out = {
    "params": r.data.params,
    "metrics": r.data.metrics,
    "tags": {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.")},
    "status": r.info.status,
    "name": r.info.run_name,
    "history": [(m.step, m.value) for m in c.get_metric_history(parent.info.run_id, "loss")],
    "artifacts": [a.path for a in c.list_artifacts(parent.info.run_id)],
    "docs": [a.path for a in c.list_artifacts(parent.info.run_id, "docs")],
    "downloaded": downloaded,
    "frame": [len(df), sorted(c for c in df.columns if c.startswith("params."))],
    "child_parent": c.get_run(child.info.run_id).data.tags.get("mlflow.parentRunId"),
    "parent": parent.info.run_id,
    "child": child.info.run_id,
    "artifact_uri": r.info.artifact_uri,
}
print(json.dumps(out))
