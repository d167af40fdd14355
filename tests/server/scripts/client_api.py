"""MlflowClient against mltrail server: experiments, runs, search, history, registry."""

import json

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException

c = MlflowClient()
out = {}
exp = c.create_experiment("client-api", tags={"team": "growth"})
try:
    c.create_experiment("client-api")
except MlflowException as e:
    out["duplicate"] = e.error_code
c.set_experiment_tag(exp, "stage", "dev")
c.rename_experiment(exp, "client-api-2")
out["exp"] = [c.get_experiment(exp).name, c.get_experiment(exp).tags]
out["by_name"] = c.get_experiment_by_name("client-api-2").experiment_id == exp
out["missing"] = c.get_experiment_by_name("nope") is None
runs = []
for i in range(5):
    run = c.create_run(exp, run_name=f"r{i}", tags={"i": str(i)})
    c.log_batch(
        run.info.run_id,
        metrics=[Metric("rmse", 1.0 - i / 10, 0, s) for s in range(3)],
        params=[Param("i", str(i))],
        tags=[RunTag("kind", "even" if i % 2 == 0 else "odd")],
    )
    c.log_metric(run.info.run_id, "nan", float("nan"))
    c.set_terminated(run.info.run_id)
    runs.append(run.info.run_id)
found = c.search_runs([exp], "metrics.rmse < 0.85 and tags.kind = 'even'",
                      order_by=["metrics.rmse ASC"])  # fmt: skip
out["search"] = [r.data.params["i"] for r in found]
page1 = c.search_runs([exp], max_results=2, order_by=["params.i ASC"])
page2 = c.search_runs([exp], max_results=2, order_by=["params.i ASC"], page_token=page1.token)
out["pages"] = [[r.info.run_name for r in page1], [r.info.run_name for r in page2]]
out["nan"] = str(c.get_run(runs[0]).data.metrics["nan"])
c.delete_tag(runs[0], "kind")
out["deleted_tag"] = "kind" in c.get_run(runs[0]).data.tags
c.delete_run(runs[1])
out["deleted"] = [
    r.info.run_name for r in c.search_runs([exp], run_view_type=ViewType.DELETED_ONLY)
]
c.restore_run(runs[1])
out["history"] = [(m.step, m.value) for m in c.get_metric_history(runs[2], "rmse")]
try:
    c.get_run("0123456789abcdef0123456789abcdef")
except MlflowException as e:
    out["missing_run"] = e.error_code
try:
    c.log_param(runs[0], "i", "changed")
except MlflowException as e:
    out["param_change"] = e.error_code
c.delete_experiment(exp)
out["exp_deleted"] = c.get_experiment(exp).lifecycle_stage
c.restore_experiment(exp)
out["exps"] = sorted(e.name for e in c.search_experiments())

# the registry
c.create_registered_model("reg", tags={"t": "1"}, description="first")
run = c.create_run(exp)
c.log_text(run.info.run_id, "flavors: {}\n", "model/MLmodel")
v1 = c.create_model_version("reg", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
v2 = c.create_model_version("reg", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
c.transition_model_version_stage("reg", v1.version, "Production")
c.set_registered_model_alias("reg", "champion", v2.version)
c.set_model_version_tag("reg", v2.version, "validated", "yes")
c.update_model_version("reg", v2.version, description="better")
c.update_registered_model("reg", description="second")
c.set_registered_model_tag("reg", "t2", "2")
c.delete_registered_model_tag("reg", "t")
m = c.get_registered_model("reg")
out["model"] = [m.description, m.tags, m.aliases, [v.version for v in m.latest_versions]]
by_alias = c.get_model_version_by_alias("reg", "champion")
out["alias"] = [by_alias.version, by_alias.tags, by_alias.description]
out["latest_prod"] = [v.version for v in c.get_latest_versions("reg", stages=["Production"])]
out["search_versions"] = sorted(v.version for v in c.search_model_versions("name='reg'"))
out["download"] = c.get_model_version_download_uri("reg", v1.version)
c.delete_registered_model_alias("reg", "champion")
c.delete_model_version_tag("reg", v2.version, "validated")
c.delete_model_version("reg", v1.version)
c.rename_registered_model("reg", "reg2")
out["models"] = [r.name for r in c.search_registered_models()]
c.delete_registered_model("reg2")
out["models_after"] = [r.name for r in c.search_registered_models()]
print(json.dumps(out))
