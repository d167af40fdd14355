"""The ``python_function`` flavor: custom models and one ``predict`` for every model.

``save_model`` / ``log_model`` store a :class:`PythonModel` (or a directory with your
own ``loader_module``) in MLflow's format; ``load_model`` loads any supported model as
a :class:`PyFuncModel` whose ``predict`` takes a DataFrame, numpy array, dict or list
and checks it against the model's signature.  Loading unpickles: load only models you
trust (see docs/MODELS.md).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from mltrail.errors import InvalidParameterValue
from mltrail.models import requirements, saving
from mltrail.models.log import log_model as _log_model
from mltrail.models.mlmodel import PYFUNC_FLAVOR, Model, ModelInfo
from mltrail.models.signature import ModelSignature
from mltrail.pyfunc.loader import PyFuncModel, load_model
from mltrail.pyfunc.model import PythonModel, PythonModelContext, save_python_model
from mltrail.tracking.unsupported import warn_ignored

FLAVOR_NAME = PYFUNC_FLAVOR

__all__ = [
    "FLAVOR_NAME",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "load_model",
    "log_model",
    "save_model",
]


def save_model(
    path: str | os.PathLike[str],
    loader_module: str | None = None,
    data_path: str | os.PathLike[str] | None = None,
    code_paths: list[str | os.PathLike[str]] | None = None,
    infer_code_paths: bool = False,
    conda_env: Any = None,
    mlflow_model: Model | None = None,
    python_model: PythonModel | None = None,
    artifacts: dict[str, str] | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    streamable: bool | None = None,
    resources: Any = None,
    auth_policy: Any = None,
    uv_project_path: str | os.PathLike[str] | None = None,
    uv_groups: list[str] | None = None,
    uv_extras: list[str] | None = None,
) -> Model:
    """Save a custom model to the folder ``path`` (which must not exist or be empty).

    Give ``python_model`` (a :class:`PythonModel`, with optional ``artifacts``: name ->
    local path or runs:/ URI), or ``loader_module`` + ``data_path`` for a module with
    ``_load_pyfunc(path)``.  Returns the Model written to ``path/MLmodel``.

    MLflow's ``infer_code_paths=True``, ``streamable``, ``resources``, ``auth_policy``
    and ``uv_*`` warn (no effect here); MLflow's catch-all ``**kwargs`` is not taken, so
    a misspelt keyword is a TypeError.
    """
    warn_ignored(
        "mltrail.pyfunc.save_model",
        infer_code_paths=infer_code_paths,
        streamable=streamable,
        resources=resources,
        auth_policy=auth_policy,
        uv_project_path=uv_project_path,
        uv_groups=uv_groups,
        uv_extras=uv_extras,
    )
    if (python_model is None) == (loader_module is None):
        raise InvalidParameterValue(
            "save_model needs python_model=PythonModel() or loader_module= (one of them)."
        )
    folder = saving.prepare_dir(path)
    model = mlflow_model or Model()
    model.metadata = metadata or model.metadata
    code = saving.copy_code_paths(code_paths, folder)
    if python_model is not None:
        inferred = save_python_model(
            folder, model, python_model, artifacts, code, model_config, input_example, signature
        )
    else:
        inferred = _save_loader_module(
            folder, model, str(loader_module), data_path, code, input_example, signature
        )
    return saving.finish(
        model, folder, inferred, conda_env, pip_requirements, extra_pip_requirements
    )


def _save_loader_module(
    folder: Path,
    model: Model,
    loader_module: str,
    data_path: str | os.PathLike[str] | None,
    code: str | None,
    input_example: Any,
    signature: ModelSignature | bool | None,
) -> list[str]:
    from mltrail.models.example import save_example

    conf: dict[str, Any] = {}
    if data_path is not None:
        src = Path(data_path)
        if src.is_dir():
            shutil.copytree(src, folder / src.name)
        elif src.is_file():
            shutil.copyfile(src, folder / src.name)
        else:
            raise InvalidParameterValue(f"data_path {os.fspath(src)!r} does not exist.")
        conf["data"] = src.name
    save_example(model, input_example, folder)
    if isinstance(signature, ModelSignature):
        model.signature = signature
    saving.add_pyfunc_flavor(model, loader_module, code, **conf)
    return requirements.requirements_for([loader_module], ["mltrail"])


def log_model(
    artifact_path: str | None = None,
    loader_module: str | None = None,
    data_path: str | os.PathLike[str] | None = None,
    code_paths: list[str | os.PathLike[str]] | None = None,
    infer_code_paths: bool = False,
    conda_env: Any = None,
    python_model: PythonModel | None = None,
    artifacts: dict[str, str] | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    await_registration_for: int | None = 300,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    streamable: bool | None = None,
    resources: Any = None,
    auth_policy: Any = None,
    uv_project_path: str | os.PathLike[str] | None = None,
    uv_groups: list[str] | None = None,
    uv_extras: list[str] | None = None,
    prompts: list[str] | None = None,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
) -> ModelInfo:
    """Log a custom model as the artifact folder ``artifact_path`` (or ``name``) of the run.

    Starts a run if none is active; ``registered_model_name`` also registers it.  The
    arguments save_model warns about warn here too, as do MLflow 3's logged-model ones
    (``params``, ``tags``, ``model_type``, ``step``, ``model_id``) and ``prompts``.
    """
    warn_ignored(
        "mltrail.pyfunc.log_model",
        infer_code_paths=infer_code_paths,
        await_registration_for=await_registration_for,
        streamable=streamable,
        resources=resources,
        auth_policy=auth_policy,
        uv_project_path=uv_project_path,
        uv_groups=uv_groups,
        uv_extras=uv_extras,
        prompts=prompts,
        params=params,
        tags=tags,
        model_type=model_type,
        step=step,
        model_id=model_id,
    )

    def save(path: Path, mlflow_model: Model) -> Model:
        return save_model(
            path,
            loader_module=loader_module,
            data_path=data_path,
            code_paths=code_paths,
            conda_env=conda_env,
            mlflow_model=mlflow_model,
            python_model=python_model,
            artifacts=artifacts,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
            model_config=model_config,
        )

    return _log_model(save, artifact_path, name, registered_model_name, None)
