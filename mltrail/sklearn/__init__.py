"""The ``sklearn`` flavor: scikit-learn models in MLflow's format.

``save_model`` writes a model folder with flavors ``sklearn`` and ``python_function``
(loader ``mlflow.sklearn``, so MLflow loads it as its own), serialized with skops by
default (``serialization_format="cloudpickle"`` or ``"pickle"`` on request).
``load_model`` reads models saved by mltrail or by MLflow 2.x/3.x.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from mltrail.errors import InvalidParameterValue
from mltrail.models import requirements, saving
from mltrail.models.example import save_example
from mltrail.models.log import log_model as _log_model
from mltrail.models.mlmodel import Model, ModelInfo
from mltrail.models.signature import ModelSignature
from mltrail.sklearn import serialize
from mltrail.sklearn.autolog import autolog as autolog
from mltrail.tracking.unsupported import warn_ignored

log = logging.getLogger(__name__)
FLAVOR_NAME = "sklearn"
#: The loader MLflow imports for this flavor (mltrail maps it to this module).
MLFLOW_LOADER = "mlflow.sklearn"
SERIALIZATION_FORMAT_SKOPS = serialize.SKOPS
SERIALIZATION_FORMAT_CLOUDPICKLE = serialize.CLOUDPICKLE
SERIALIZATION_FORMAT_PICKLE = serialize.PICKLE
SUPPORTED_SERIALIZATION_FORMATS = serialize.FORMATS
_PREDICT_FNS = ("predict", "predict_proba", "predict_log_proba", "predict_joint_log_proba", "score")

__all__ = [
    "FLAVOR_NAME",
    "SERIALIZATION_FORMAT_CLOUDPICKLE",
    "SERIALIZATION_FORMAT_PICKLE",
    "SERIALIZATION_FORMAT_SKOPS",
    "load_model",
    "log_model",
    "save_model",
]


def save_model(
    sk_model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    code_paths: list[str | os.PathLike[str]] | None = None,
    mlflow_model: Model | None = None,
    serialization_format: str | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
    extra_files: list[str | os.PathLike[str]] | None = None,
) -> Model:
    """Save a scikit-learn estimator, in MLflow's format, to a new local folder.

    The folder has the ``sklearn`` and ``python_function`` flavors, and MLflow loads it
    as its own.  The default format is skops, as in MLflow 3.

    Args:
        sk_model: the fitted estimator (or pipeline).
        path: the folder to write (it must not exist, or be empty).
        conda_env: a conda environment (dict or YAML file) to write instead of the inferred
            one.
        code_paths: local files or folders copied into the model's ``code/`` folder and put
            on ``sys.path`` when it loads.
        mlflow_model: a ``Model`` to fill in instead of a new one.
        serialization_format: ``"skops"`` (None means it, as in MLflow 3, or
            ``"cloudpickle"`` with a warning when skops is not installed),
            ``"cloudpickle"`` or ``"pickle"``; loading the last two runs code.
        signature: the model's ``ModelSignature``; None infers one from
            ``input_example``, False saves none.
        input_example: an example input, saved with the model (and used to infer the
            signature).
        pip_requirements: the requirements to write instead of the inferred ones (a list
            or a requirements file).
        extra_pip_requirements: requirements to add to the inferred ones.
        pyfunc_predict_fn: the estimator method that ``pyfunc`` models call as
            ``predict``: ``"predict"``, ``"predict_proba"``, ``"predict_log_proba"``,
            ``"predict_joint_log_proba"`` or ``"score"``.
        metadata: free-form metadata written to the ``MLmodel`` file.
        skops_trusted_types: extra types skops may load; the types the model needs are
            found and recorded on save, so this is rarely needed.
        extra_files: local files copied into the model's ``extra_files/`` folder.

    Returns:
        The ``Model`` written to ``path/MLmodel``.

    Raises:
        ResourceAlreadyExists: ``path`` exists and is not empty.

    Example:
        >>> import mltrail
        >>> from sklearn.linear_model import LinearRegression
        >>> estimator = LinearRegression().fit([[0.0], [1.0]], [1.0, 3.0])
        >>> model = mltrail.sklearn.save_model(estimator, "linear")
        >>> sorted(model.flavors), model.flavors["sklearn"]["serialization_format"]
        (['python_function', 'sklearn'], 'skops')
        >>> mltrail.sklearn.load_model("linear").predict([[2.0]])
        array([5.])
    """
    import sklearn

    fmt = serialize.check_format(serialization_format or serialize.default_format())
    if pyfunc_predict_fn not in _PREDICT_FNS:
        raise InvalidParameterValue(
            f"Invalid pyfunc_predict_fn {pyfunc_predict_fn!r}: "
            f"use one of {', '.join(_PREDICT_FNS)}."
        )
    folder = saving.prepare_dir(path)
    model = mlflow_model or Model()
    model.metadata = metadata or model.metadata
    code = saving.copy_code_paths(code_paths, folder)
    example = save_example(model, input_example, folder)
    if signature is None and example is not None and hasattr(sk_model, pyfunc_predict_fn):
        wrapper = _SklearnModelWrapper(sk_model)
        signature = saving.infer_from_example(
            example, lambda x, _p: getattr(wrapper, pyfunc_predict_fn)(x)
        )
    if isinstance(signature, ModelSignature):
        model.signature = signature
    file_name = serialize.FILE_NAMES[fmt]
    trusted, modules = serialize.dump(sk_model, folder / file_name, fmt, skops_trusted_types)
    extra = saving.copy_extra_files(extra_files, folder)
    if hasattr(sk_model, pyfunc_predict_fn):
        saving.add_pyfunc_flavor(
            model, MLFLOW_LOADER, code, model_path=file_name, predict_fn=pyfunc_predict_fn
        )
    model.add_flavor(
        FLAVOR_NAME,
        pickled_model=file_name,
        sklearn_version=sklearn.__version__,
        serialization_format=fmt,
        code=code,
        skops_trusted_types=trusted,
        **extra,
    )
    needs = ["scikit-learn", "numpy", "scipy", "skops" if fmt == serialize.SKOPS else fmt]
    inferred = requirements.requirements_for(modules, [n for n in needs if n != "pickle"])
    return saving.finish(
        model, folder, inferred, conda_env, pip_requirements, extra_pip_requirements
    )


def log_model(
    sk_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str | os.PathLike[str]] | None = None,
    serialization_format: str | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    await_registration_for: int | None = 300,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    extra_files: list[str | os.PathLike[str]] | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    name: str | None = None,
    skops_trusted_types: list[str] | None = None,
    *,
    run_id: str | None = None,
    resources: Any = None,
    auth_policy: Any = None,
    prompts: list[str] | None = None,
) -> ModelInfo:
    """Save a scikit-learn estimator into the active run's artifacts (started if none is).

    MLflow's ``**kwargs`` (passed on to ``Model.log``) are, here, the keyword-only
    ``run_id``, ``resources``, ``auth_policy`` and ``prompts``: any other keyword is a
    ``TypeError``.  Unlike MLflow 3, no separate logged-model record is made: the
    arguments for one (``params``, ``tags``, ``model_type``, ``step``, ``model_id``) warn.

    Args:
        sk_model: the fitted estimator (or pipeline).
        artifact_path: the artifact folder of the model (default ``"model"``).
        conda_env: a conda environment (dict or YAML file) to write instead of the inferred
            one.
        code_paths: local files or folders copied into the model's ``code/`` folder and put
            on ``sys.path`` when it loads.
        serialization_format: ``"skops"`` (None means it, as in MLflow 3, or
            ``"cloudpickle"`` with a warning when skops is not installed),
            ``"cloudpickle"`` or ``"pickle"``; loading the last two runs code.
        registered_model_name: also register the model as a new version of this name.
        signature: the model's ``ModelSignature``; None infers one from
            ``input_example``, False saves none.
        input_example: an example input, saved with the model (and used to infer the
            signature).
        await_registration_for: no effect: registration is done when this returns.
        pip_requirements: the requirements to write instead of the inferred ones (a list
            or a requirements file).
        extra_pip_requirements: requirements to add to the inferred ones.
        pyfunc_predict_fn: the estimator method that ``pyfunc`` models call as
            ``predict``: ``"predict"``, ``"predict_proba"``, ``"predict_log_proba"``,
            ``"predict_joint_log_proba"`` or ``"score"``.
        metadata: free-form metadata written to the ``MLmodel`` file.
        extra_files: local files copied into the model's ``extra_files/`` folder.
        params: params of the logged model (it also takes the run's params, as in MLflow).
        tags: tags of the logged model.
        model_type: a free-form type of the logged model (e.g. ``"classifier"``).
        step: the training step the model was logged at: metrics the run logs at this
            step are linked to it (MLflow 3).
        model_id: accepted for MLflow's sake; a value warns (each call logs a new model).
        name: MLflow 3's name for ``artifact_path`` (give one of them).
        skops_trusted_types: extra types skops may load; the types the model needs are
            found and recorded on save, so this is rarely needed.
        run_id: the run to log to instead of the active one.
        resources: accepted for MLflow's sake; a value warns (Databricks serving only).
        auth_policy: accepted for MLflow's sake; a value warns (Databricks serving only).
        prompts: accepted for MLflow's sake; a value warns (no prompt registry).

    Returns:
        The ``ModelInfo``: ``model_id`` and ``model_uri`` (``models:/<model_id>``; the
        folder is also ``runs:/<run_id>/<path>``), the signature,
        flavors, and the registered version when ``registered_model_name`` was given.

    Example:
        >>> import mltrail
        >>> from sklearn.linear_model import LinearRegression
        >>> estimator = LinearRegression().fit([[0.0], [1.0]], [1.0, 3.0])
        >>> import numpy as np
        >>> with mltrail.start_run():
        ...     info = mltrail.sklearn.log_model(estimator, name="model",
        ...                                      input_example=np.array([[0.5]]))
        >>> info.model_uri == f"models:/{info.model_id}"
        True
        >>> print(info.signature.outputs)
        [Tensor('float64', (-1,))]
    """
    warn_ignored(
        "mltrail.sklearn.log_model",
        await_registration_for=await_registration_for,
        model_id=model_id,
        resources=resources,
        auth_policy=auth_policy,
        prompts=prompts,
    )

    def save(path: Path, mlflow_model: Model) -> Model:
        return save_model(
            sk_model,
            path,
            conda_env=conda_env,
            code_paths=code_paths,
            mlflow_model=mlflow_model,
            serialization_format=serialization_format,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            pyfunc_predict_fn=pyfunc_predict_fn,
            metadata=metadata,
            skops_trusted_types=skops_trusted_types,
            extra_files=extra_files,
        )

    return _log_model(
        save, artifact_path, name, registered_model_name, run_id,
        params=params, tags=tags, model_type=model_type, step=step,
    )  # fmt: skip


def _load_file(model_dir: Path, conf: dict[str, Any]) -> Any:
    file = conf.get("pickled_model")
    if not isinstance(file, str):
        raise InvalidParameterValue(f"The sklearn flavor at {model_dir} names no model file.")
    fmt = str(conf.get("serialization_format") or serialize.PICKLE)
    saved_with = conf.get("sklearn_version")
    if saved_with:
        import sklearn

        if saved_with != sklearn.__version__:
            log.warning(
                "The model at %s was saved with scikit-learn %s; %s is installed, "
                "so it may load or predict differently.",
                model_dir,
                saved_with,
                sklearn.__version__,
            )
    return serialize.load(model_dir / file, fmt, conf.get("skops_trusted_types"))


def load_model(
    model_uri: str | os.PathLike[str], dst_path: str | os.PathLike[str] | None = None
) -> Any:
    """Load a scikit-learn model saved by mltrail or by MLflow 2 or 3, as the estimator.

    Loading a ``cloudpickle`` or ``pickle`` model runs code from its file: load only
    models you trust.  A skops model loads only the types recorded when it was saved.

    Args:
        model_uri: a local path, ``file://`` URI, ``runs:/<run_id>/<path>``,
            ``models:/<name>/<version|stage|latest>`` or ``models:/<name>@<alias>``.
        dst_path: for a ``runs:/`` model, a folder to copy its files into first
            (default: load them in place).

    Returns:
        The estimator (or pipeline) that was saved.

    Example:
        >>> import mltrail
        >>> from sklearn.linear_model import LinearRegression
        >>> estimator = LinearRegression().fit([[0.0], [1.0]], [1.0, 3.0])
        >>> with mltrail.start_run():
        ...     info = mltrail.sklearn.log_model(estimator, name="model",
        ...                                      registered_model_name="linear")
        >>> mltrail.sklearn.load_model("models:/linear/1").coef_
        array([2.])
    """
    from mltrail.models.uri import resolve_model_uri
    from mltrail.pyfunc.loader import add_code_path, load_local

    local = resolve_model_uri(model_uri, dst_path)
    conf = load_local(local).flavor(FLAVOR_NAME, local)
    add_code_path(local, conf)
    return _load_file(local, conf)


class _SklearnModelWrapper:
    """The pyfunc face of an estimator: ``predict(data, params=None)``."""

    def __init__(self, sklearn_model: Any) -> None:
        self.sklearn_model = sklearn_model
        for fn in _PREDICT_FNS[1:]:
            method = getattr(sklearn_model, fn, None)
            if method is not None:
                setattr(self, fn, _tabular(method))

    def get_raw_model(self) -> Any:
        return self.sklearn_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.sklearn_model.predict(_as_tabular(data))


def _as_tabular(data: Any) -> Any:
    """Dicts and lists of records as a DataFrame (models without a signature get them raw)."""
    import pandas as pd

    if isinstance(data, dict):
        columnar = all(isinstance(v, (list, tuple, pd.Series)) or getattr(v, "ndim", 0) == 1
                       for v in data.values())  # fmt: skip
        return pd.DataFrame(data if columnar else [data])
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        return pd.DataFrame.from_records(data)
    return data


def _tabular(method: Any) -> Any:
    return lambda data, params=None: method(_as_tabular(data))


def _load_pyfunc(path: str) -> _SklearnModelWrapper:
    """``mlflow.sklearn``'s loader contract: ``path`` is the model folder or its model file."""
    target = Path(path)
    model_dir = target.parent if target.is_file() else target
    conf = Model.load(model_dir).flavors.get(FLAVOR_NAME)
    if not isinstance(conf, dict):  # MLflow's fallback: a bare pickle next to an MLmodel
        conf = {"pickled_model": target.name, "serialization_format": serialize.PICKLE}
    return _SklearnModelWrapper(_load_file(model_dir, conf))
