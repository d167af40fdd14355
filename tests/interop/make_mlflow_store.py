"""Fill an MLflow tracking store with everything the import must carry (run by real MLflow).

Usage: python make_mlflow_store.py TRACKING_URI WORKDIR POINTS [--more]

Writes what it made as JSON to stdout (run ids by name). ``--more`` adds one run to
an existing store (the idempotence test's "new MLflow runs").
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import mlflow
from mlflow import MlflowClient


def main() -> None:
    uri, workdir, points = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    mlflow.set_tracking_uri(uri)
    os.chdir(workdir)
    client = MlflowClient()
    if "--more" in sys.argv:
        mlflow.set_experiment("churn")
        with mlflow.start_run(run_name="late") as run:
            mlflow.log_metric("auc", 0.9)
        print(json.dumps({"late": run.info.run_id}))
        return
    made: dict[str, str] = {}
    exp = mlflow.set_experiment("churn")
    client.set_experiment_tag(exp.experiment_id, "team", "growth")
    client.set_experiment_tag(exp.experiment_id, "mlflow.note.content", "Churn *models*")
    with mlflow.start_run(run_name="parent", description="the sweep") as parent:
        mlflow.log_params({"alpha": "0.5", "l1:ratio": "0.1"})
        mlflow.set_tags({"stage": "dev", "分类": "是"})
        for start in range(0, points, 1000):  # MLflow's batch limit
            client.log_batch(
                parent.info.run_id,
                metrics=[
                    mlflow.entities.Metric("loss", 1.0 / (i + 1), 1_700_000_000_000 + i, i)
                    for i in range(start, min(points, start + 1000))
                ],
            )
        mlflow.log_metric("val:acc", float("nan"), step=0)
        mlflow.log_metric("val:acc", 0.75, step=1)
        mlflow.log_metric("train/loss", -3.5, step=-2)
        mlflow.log_metric("损失", 2.0)
        mlflow.log_text("hello", "notes/hello.txt")
        mlflow.log_dict({"a": 1}, "config.json")
        (workdir / "big.bin").write_bytes(os.urandom(300_000))
        mlflow.log_artifact(str(workdir / "big.bin"), "data")
        for i in range(2):
            with mlflow.start_run(run_name=f"child-{i}", nested=True) as child:
                mlflow.log_param("fold", str(i))
                mlflow.log_metric("auc", 0.8 + i / 100, step=i)
                made[f"child-{i}"] = child.info.run_id
    made["parent"] = parent.info.run_id

    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    import pandas as pd

    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0, 0, 1, 1]})
    train = mlflow.data.from_pandas(frame, source="data/train.csv", name="train-set", targets="y")
    with mlflow.start_run(run_name="trained") as trained:
        mlflow.log_param("C", "1.0")
        mlflow.log_input(train, context="training", tags={"split": "a"})
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            params={"solver": "lbfgs"},
            tags={"team": "growth"},
            model_type="classifier",
        )
        mlflow.log_metric("accuracy", 0.75, step=1, model_id=info.model_id, dataset=train)
        mlflow.log_metric("accuracy", 0.875, step=2, model_id=info.model_id, dataset=train)
        mlflow.log_metric("loss", 0.25, step=2, model_id=info.model_id)
        mlflow.log_text("x", "extra/x.txt")
    made["trained"] = trained.info.run_id
    made["model_id"] = info.model_id
    with mlflow.start_run(run_name="evaluated") as evaluated:
        # another run that evaluates the model: a model input, its own linked metrics
        mlflow.log_metric("auc", 0.5, model_id=info.model_id, dataset=train)
    made["evaluated"] = evaluated.info.run_id
    with mlflow.start_run(run_name="failed") as failed:
        mlflow.log_metric("loss", 9.0)
    client.set_terminated(failed.info.run_id, "FAILED")
    made["failed"] = failed.info.run_id
    with mlflow.start_run(run_name="gone") as gone:
        mlflow.log_param("p", "1")
    client.delete_run(gone.info.run_id)
    made["gone"] = gone.info.run_id

    old = client.create_experiment("old-experiment", tags={"k": "v"})
    old_run = client.create_run(old, run_name="in-old")
    client.set_terminated(old_run.info.run_id, "KILLED")
    client.delete_experiment(old)
    made["in-old"] = old_run.info.run_id
    made["old_experiment"] = old

    client.create_registered_model("churn-model", tags={"owner": "ana"}, description="Churn")
    v1 = client.create_model_version(
        "churn-model",
        f"runs:/{trained.info.run_id}/model",
        trained.info.run_id,
        tags={"data": "2024"},
        description="first",
    )
    v2 = client.create_model_version(
        "churn-model",
        info.model_uri,
        trained.info.run_id,
        description="second",
        model_id=info.model_id,
    )
    v3 = client.create_model_version(
        "churn-model", info.model_uri, trained.info.run_id, model_id=info.model_id
    )
    client.transition_model_version_stage("churn-model", v1.version, "Archived")
    client.transition_model_version_stage("churn-model", v2.version, "Production")
    client.set_registered_model_alias("churn-model", "champion", v2.version)
    client.set_registered_model_alias("churn-model", "challenger", v1.version)
    client.delete_model_version("churn-model", v3.version)
    client.create_registered_model("Empty Model")
    print(json.dumps(made))


if __name__ == "__main__":
    main()
