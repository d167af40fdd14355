"""Filters whose meaning differs between stores if done naively: ``!=`` on a missing tag
and MLflow's not-a-prompt clause. Prints what this backend answers (compared with MLflow's
own SQLite store by the test)."""

import json

from mlflow import MlflowClient

c = MlflowClient()
exp = c.create_experiment("filters")
for name, tags in (("xy", {"x": "y"}), ("xz", {"x": "z"}), ("none", {})):
    c.set_terminated(c.create_run(exp, run_name=name, tags=tags).info.run_id)
runs = {}
for text in (
    "tags.x != 'y'",
    "tags.x = 'y'",
    "params.p != '1'",
    "metrics.m != 1",
    "tags.`mlflow.prompt.is_prompt` != 'true'",
):
    runs[text] = sorted(r.info.run_name for r in c.search_runs([exp], text))
c.create_registered_model("plain")
c.create_registered_model("cats and dogs", tags={"x": "y"})
c.create_registered_model("tagged-prompt")
c.set_registered_model_tag("tagged-prompt", "mlflow.prompt.is_prompt", "true")
models = {}
for text in (None, "name = 'cats and dogs'", "tags.x != 'y'", "tags.x != 'z'", "name LIKE '%a%'"):
    models[str(text)] = sorted(m.name for m in c.search_registered_models(text))
print(json.dumps({"runs": runs, "models": models}))
