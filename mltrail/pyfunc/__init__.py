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
    """Save a custom model, in MLflow's format, to a new local folder.

    Give ``python_model`` (a ``PythonModel``), or ``loader_module`` (and ``data_path``).
    Unlike MLflow, there is no catch-all ``**kwargs``: a misspelt keyword is a
    ``TypeError``.

    Args:
        path: the folder to write (it must not exist, or be empty).
        loader_module: instead of ``python_model``: a module with ``_load_pyfunc(path)``
            returning an object with ``predict``.
        data_path: with ``loader_module``: a file or folder copied into the model and
            handed to ``_load_pyfunc``.
        code_paths: local files or folders copied into the model's ``code/`` folder and put
            on ``sys.path`` when it loads.
        infer_code_paths: find ``code_paths`` instead: the model is loaded in a new process
            run from the working directory, and the working directory's Python files that
            loading imports are copied into ``code/`` (MLflow's rule; not with ``code_paths``).
        conda_env: a conda environment (dict or YAML file) to write instead of the inferred
            one.
        mlflow_model: a ``Model`` to fill in instead of a new one.
        python_model: the ``PythonModel`` to save (pickled with cloudpickle).
        artifacts: name -> local path or ``runs:/`` URI of files the model needs; each is
            copied into the model, and ``context.artifacts[name]`` is its path when loaded.
        signature: the model's ``ModelSignature``; None infers one from
            ``input_example``, False saves none.
        input_example: an example input, saved with the model (and used to infer the
            signature).
        pip_requirements: the requirements to write instead of the inferred ones (a list
            or a requirements file).
        extra_pip_requirements: requirements to add to the inferred ones.
        metadata: free-form metadata written to the ``MLmodel`` file.
        model_config: settings handed to the model at load time (``context.model_config``).
        streamable: accepted for MLflow's sake; ``True`` warns (no ``predict_stream``).
        resources: accepted for MLflow's sake; a value warns (Databricks serving only).
        auth_policy: accepted for MLflow's sake; a value warns (Databricks serving only).
        uv_project_path: accepted for MLflow's sake; a value warns (requirements are
            inferred from the imported modules).
        uv_groups: accepted for MLflow's sake; a value warns, as ``uv_project_path``.
        uv_extras: accepted for MLflow's sake; a value warns, as ``uv_project_path``.

    Returns:
        The ``Model`` written to ``path/MLmodel``.

    Raises:
        ResourceAlreadyExists: ``path`` exists and is not empty.
        InvalidParameterValue: both or neither of ``python_model`` and ``loader_module``.

    Example:
        >>> import mltrail
        >>> class AddN(mltrail.pyfunc.PythonModel):
        ...     def predict(self, context, model_input, params=None):
        ...         return [x + context.model_config["n"] for x in model_input]
        >>> model = mltrail.pyfunc.save_model("add_two", python_model=AddN(),
        ...                                   model_config={"n": 2})
        >>> sorted(model.flavors)
        ['python_function']
        >>> mltrail.pyfunc.load_model("add_two").predict([1, 2])
        [3, 4]
    """
    warn_ignored(
        "mltrail.pyfunc.save_model",
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
    if infer_code_paths and code_paths:
        raise InvalidParameterValue(
            "infer_code_paths=True finds the code paths itself: drop code_paths, or the flag."
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
    if infer_code_paths:
        code = saving.infer_code_paths(model, folder)
        if code:
            model.flavors[PYFUNC_FLAVOR]["code"] = code
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
    """Save a custom model into the active run's artifacts (a run is started if none is).

    The model folder is the run's artifact folder ``artifact_path`` (or ``name``, MLflow
    3's word for it), committed with the run, with MLflow 3's logged-model record beside
    it (``params``, ``tags``, ``model_type``, ``step``; docs/FORMAT.md).

    Args:
        artifact_path: the artifact folder of the model (default ``"model"``).
        loader_module: instead of ``python_model``: a module with ``_load_pyfunc(path)``
            returning an object with ``predict``.
        data_path: with ``loader_module``: a file or folder copied into the model and
            handed to ``_load_pyfunc``.
        code_paths: local files or folders copied into the model's ``code/`` folder and put
            on ``sys.path`` when it loads.
        infer_code_paths: find ``code_paths`` instead: the model is loaded in a new process
            run from the working directory, and the working directory's Python files that
            loading imports are copied into ``code/`` (MLflow's rule; not with ``code_paths``).
        conda_env: a conda environment (dict or YAML file) to write instead of the inferred
            one.
        mlflow_model: a ``Model`` to fill in instead of a new one.
        python_model: the ``PythonModel`` to save (pickled with cloudpickle).
        artifacts: name -> local path or ``runs:/`` URI of files the model needs; each is
            copied into the model, and ``context.artifacts[name]`` is its path when loaded.
        registered_model_name: also register the model as a new version of this name.
        signature: the model's ``ModelSignature``; None infers one from
            ``input_example``, False saves none.
        input_example: an example input, saved with the model (and used to infer the
            signature).
        await_registration_for: no effect: registration is done when this returns.
        pip_requirements: the requirements to write instead of the inferred ones (a list
            or a requirements file).
        extra_pip_requirements: requirements to add to the inferred ones.
        metadata: free-form metadata written to the ``MLmodel`` file.
        model_config: settings handed to the model at load time (``context.model_config``).
        streamable: accepted for MLflow's sake; ``True`` warns (no ``predict_stream``).
        resources: accepted for MLflow's sake; a value warns (Databricks serving only).
        auth_policy: accepted for MLflow's sake; a value warns (Databricks serving only).
        uv_project_path: accepted for MLflow's sake; a value warns (requirements are
            inferred from the imported modules).
        uv_groups: accepted for MLflow's sake; a value warns, as ``uv_project_path``.
        uv_extras: accepted for MLflow's sake; a value warns, as ``uv_project_path``.
        prompts: accepted for MLflow's sake; a value warns (no prompt registry).
        name: MLflow 3's name for ``artifact_path`` (give one of them).
        params: params of the logged model (it also takes the run's params, as in MLflow).
        tags: tags of the logged model.
        model_type: a free-form type of the logged model (e.g. ``"classifier"``).
        step: the training step the model was logged at: metrics the run logs at this
            step are linked to it (MLflow 3).
        model_id: accepted for MLflow's sake; a value warns (each call logs a new model).

    Returns:
        The ``ModelInfo``: ``model_id`` and ``model_uri`` (``models:/<model_id>``; the
        folder is also ``runs:/<run_id>/<path>``), the signature,
        flavors, and the registered version when ``registered_model_name`` was given.

    Example:
        >>> import mltrail
        >>> class AddN(mltrail.pyfunc.PythonModel):
        ...     def predict(self, context, model_input, params=None):
        ...         return [x + context.model_config["n"] for x in model_input]
        >>> with mltrail.start_run():
        ...     info = mltrail.pyfunc.log_model(name="model", python_model=AddN(),
        ...                                     model_config={"n": 1},
        ...                                     registered_model_name="add-one")
        >>> info.model_uri == f"models:/{info.model_id}"
        True
        >>> mltrail.pyfunc.load_model("models:/add-one/1").predict([1, 2])
        [2, 3]
    """
    warn_ignored(
        "mltrail.pyfunc.log_model",
        await_registration_for=await_registration_for,
        streamable=streamable,
        resources=resources,
        auth_policy=auth_policy,
        uv_project_path=uv_project_path,
        uv_groups=uv_groups,
        uv_extras=uv_extras,
        prompts=prompts,
        model_id=model_id,
    )

    def save(path: Path, mlflow_model: Model) -> Model:
        return save_model(
            path,
            loader_module=loader_module,
            data_path=data_path,
            code_paths=code_paths,
            infer_code_paths=infer_code_paths,
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

    return _log_model(
        save, artifact_path, name, registered_model_name, None,
        params=params, tags=tags, model_type=model_type, step=step,
    )  # fmt: skip
