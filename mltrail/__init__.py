"""mltrail: MLflow's tracking lifecycle with runs as plain files in git.

``import mltrail as mlflow`` runs MLflow's quick-start scripts unchanged.
"""

from typing import TYPE_CHECKING

from mltrail.entities import Experiment, Metric, Param, Run, RunInfo, RunStatus, RunTag, ViewType
from mltrail.errors import MlflowException, MltrailError
from mltrail.logged_entities import LoggedModel
from mltrail.registry import ModelVersion, RegisteredModel
from mltrail.tracking.client import Client, MlflowClient
from mltrail.tracking.fluent import (
    ActiveRun,
    active_run,
    delete_tag,
    end_run,
    flush,
    get_tracking_uri,
    last_active_run,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    set_experiment,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
)
from mltrail.tracking.fluent_artifacts import (
    get_artifact_uri,
    list_artifacts,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_image,
    log_text,
)
from mltrail.tracking.fluent_models import (
    delete_logged_model_tag,
    get_logged_model,
    last_logged_model,
    log_input,
    log_inputs,
    search_logged_models,
    set_logged_model_tags,
)
from mltrail.tracking.queries import (
    create_experiment,
    delete_experiment,
    delete_run,
    get_experiment,
    get_experiment_by_name,
    get_parent_run,
    get_run,
    restore_experiment,
    search_experiments,
    search_runs,
    set_experiment_tag,
    set_experiment_tags,
)
from mltrail.tracking.registry_fluent import register_model
from mltrail.tracking.unsupported import NoEffectWarning

if TYPE_CHECKING:
    from mltrail.autologging import autolog as autolog
    from mltrail.evaluation import evaluate as evaluate

__version__ = "0.1.0"

#: Imported on first attribute access, so ``import mltrail`` stays fast.
_LAZY_MODULES = ("data", "evaluation", "exceptions", "models", "projects", "pyfunc", "sklearn")


def __getattr__(name: str) -> object:
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f"mltrail.{name}")
    if name == "infer_signature":
        from mltrail.models.signature import infer_signature

        return infer_signature
    if name == "evaluate":
        from mltrail.evaluation import evaluate

        return evaluate
    if name == "autolog":
        from mltrail.autologging import autolog

        return autolog
    raise AttributeError(f"module 'mltrail' has no attribute {name!r}")


__all__ = [
    "ActiveRun",
    "Client",
    "Experiment",
    "LoggedModel",
    "Metric",
    "MlflowClient",
    "MlflowException",
    "MltrailError",
    "ModelVersion",
    "NoEffectWarning",
    "Param",
    "RegisteredModel",
    "Run",
    "RunInfo",
    "RunStatus",
    "RunTag",
    "ViewType",
    "__version__",
    "active_run",
    "create_experiment",
    "delete_experiment",
    "delete_logged_model_tag",
    "delete_run",
    "delete_tag",
    "end_run",
    "evaluate",
    "flush",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_logged_model",
    "get_parent_run",
    "get_run",
    "get_tracking_uri",
    "last_active_run",
    "last_logged_model",
    "list_artifacts",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_inputs",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "register_model",
    "restore_experiment",
    "search_experiments",
    "search_logged_models",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_logged_model_tags",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]
