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
) -> Model:
    """Save a custom model to the folder ``path`` (which must not exist or be empty).

    Give ``python_model`` (a :class:`PythonModel`, with optional ``artifacts``: name ->
    local path or runs:/ URI), or ``loader_module`` + ``data_path`` for a module with
    ``_load_pyfunc(path)``.  Returns the Model written to ``path/MLmodel``.
    """
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
    conda_env: Any = None,
    python_model: PythonModel | None = None,
    artifacts: dict[str, str] | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    await_registration_for: int | None = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    run_id: str | None = None,
) -> ModelInfo:
    """Log a custom model as the artifact folder ``artifact_path`` (or ``name``) of the run."""

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

    return _log_model(save, artifact_path, name, registered_model_name, run_id)
