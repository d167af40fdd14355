"""sklearn autolog, log_model with registered_model_name, and models:/name@alias back."""

import json

import mlflow
import numpy as np
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

X = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.9, 0.1]])
y = np.array([0, 1, 0, 1])
mlflow.set_experiment("sklearn")
mlflow.sklearn.autolog(log_models=False, log_datasets=False)
with mlflow.start_run() as auto:
    LogisticRegression(max_iter=50).fit(X, y)
mlflow.sklearn.autolog(disable=True)
with mlflow.start_run() as run:
    model = LogisticRegression(max_iter=50).fit(X, y)
    info = mlflow.sklearn.log_model(model, name="model", registered_model_name="churn")
c = MlflowClient()
c.set_registered_model_alias("churn", "champion", info.registered_model_version)
by_alias = mlflow.pyfunc.load_model("models:/churn@champion")
by_id = mlflow.sklearn.load_model(info.model_uri)
a = c.get_run(auto.info.run_id)
out = {
    "by_alias": by_alias.predict(X).tolist(),
    "by_id": by_id.predict(X).tolist(),
    "expected": model.predict(X).tolist(),
    "version": info.registered_model_version,
    "run": run.info.run_id,
    "auto_params": sorted(a.data.params),
    "auto_metrics": sorted(a.data.metrics),
}
print(json.dumps(out))
