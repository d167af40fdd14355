"""The MLflow client sends MLFLOW_TRACKING_TOKEN as a bearer token."""

import json

from mlflow import MlflowClient

print(json.dumps({"name": MlflowClient().get_experiment("0").name}))
