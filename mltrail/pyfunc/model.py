"""Custom Python models: ``PythonModel``, its context, and their MLmodel form.

A ``PythonModel`` is saved as MLflow saves one: cloudpickled to ``python_model.pkl``,
its artifacts copied under ``artifacts/``, with ``loader_module: mlflow.pyfunc.model``
so MLflow loads it too (where mltrail is installed, since the pickle refers to
:class:`PythonModel`).  mltrail maps that loader module to :func:`_load_pyfunc` here.
Loading unpickles the file, which runs code: load only models you trust.
"""

from __future__ import annotations

import inspect
import os
import pickle
from pathlib import Path
from typing import Any, NamedTuple

from mltrail.errors import InvalidParameterValue
from mltrail.models import requirements, saving
from mltrail.models.example import save_example
from mltrail.models.mlmodel import PYFUNC_FLAVOR, Model
from mltrail.models.signature import ModelSignature

#: What MLflow writes as this flavor's loader; mltrail maps it to this module.
MLFLOW_LOADER = "mlflow.pyfunc.model"
PYTHON_MODEL_FILE = "python_model.pkl"
ARTIFACTS_DIR = "artifacts"


class PythonModelContext:
    """What ``load_context`` and ``predict`` receive: the model's artifacts and config.

    Example:
        >>> import mltrail
        >>> context = mltrail.pyfunc.PythonModelContext({"vocab": "/models/vocab.txt"}, {"n": 1})
        >>> context.artifacts["vocab"], context.model_config
        ('/models/vocab.txt', {'n': 1})
    """

    def __init__(
        self, artifacts: dict[str, str] | None = None, model_config: dict[str, Any] | None = None
    ) -> None:
        self._artifacts = dict(artifacts or {})
        self._model_config = dict(model_config or {})

    @property
    def artifacts(self) -> dict[str, str]:
        """Artifact name -> absolute local path of its copy in the model directory."""
        return self._artifacts

    @property
    def model_config(self) -> dict[str, Any]:
        """The settings given at save time (or replaced at load time)."""
        return self._model_config


class _TypeHints(NamedTuple):
    input: Any = None
    output: Any = None


class PythonModel:
    """The base class of a custom model: subclass it and define ``predict``.

    ``load_context`` runs once when the model loads (open artifacts there); ``predict``
    receives that context, the input and the inference params.

    Example:
        >>> import mltrail
        >>> class Echo(mltrail.pyfunc.PythonModel):
        ...     def predict(self, context, model_input, params=None):
        ...         return model_input
        >>> _ = mltrail.pyfunc.save_model("echo", python_model=Echo())
        >>> mltrail.pyfunc.load_model("echo").predict(["hi"])
        ['hi']
    """

    def load_context(self, context: PythonModelContext) -> None:
        """Called once when the model is loaded: open artifacts here."""

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict for ``model_input``; every subclass defines it.

        Args:
            context: the ``PythonModelContext`` (artifacts and model config).
            model_input: the input, checked against the signature first.
            params: inference parameters, checked against the signature's params schema.

        Returns:
            The predictions.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must define predict(self, context, model_input, params=None)."
        )

    @property
    def predict_type_hints(self) -> _TypeHints:
        """MLflow's loader reads this; mltrail models declare no type hints."""
        return _TypeHints()


def call_predict(python_model: Any, context: Any, data: Any, params: dict[str, Any] | None) -> Any:
    """Call ``predict`` with or without ``context`` and ``params``, as it is declared."""
    declared = inspect.signature(python_model.predict).parameters
    kwargs = {"params": params} if "params" in declared else {}
    if next(iter(declared), None) == "context":
        return python_model.predict(context, data, **kwargs)
    return python_model.predict(data, **kwargs)


class _PythonModelWrapper:
    """A loaded PythonModel with its context: ``predict(data, params=None)``."""

    def __init__(self, python_model: Any, context: PythonModelContext) -> None:
        self.python_model = python_model
        self.context = context

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return call_predict(self.python_model, self.context, data, params)

    def unwrap_python_model(self) -> Any:
        return self.python_model


def save_python_model(
    path: Path,
    model: Model,
    python_model: Any,
    artifacts: dict[str, str] | None,
    code: str | None,
    model_config: dict[str, Any] | None,
    input_example: Any,
    signature: ModelSignature | bool | None,
) -> list[str]:
    """Write the PythonModel files and flavor into ``path``; the inferred requirements."""
    import cloudpickle

    if not callable(getattr(python_model, "predict", None)):
        raise InvalidParameterValue(
            f"python_model {type(python_model).__name__} has no predict method; "
            "subclass mltrail.pyfunc.PythonModel."
        )
    saved = _copy_artifacts(path, artifacts or {})
    data = cloudpickle.dumps(python_model, protocol=pickle.DEFAULT_PROTOCOL)
    (path / PYTHON_MODEL_FILE).write_bytes(data)
    example = save_example(model, input_example, path)
    if signature is None and example is not None:
        context = _context(path, saved, model_config)
        loaded = _load_with_context(data, context)
        signature = saving.infer_from_example(
            example, lambda x, p: call_predict(loaded, context, x, p)
        )
    if isinstance(signature, ModelSignature):
        model.signature = signature
    conf: dict[str, Any] = {
        "python_model": PYTHON_MODEL_FILE,
        "cloudpickle_version": cloudpickle.__version__,
        "streamable": False,
    }
    if saved:
        conf["artifacts"] = saved
    if model_config:
        conf["config"] = model_config
    saving.add_pyfunc_flavor(model, MLFLOW_LOADER, code, **conf)
    modules = requirements.modules_in_pickle(data)
    return requirements.requirements_for(modules, ["mltrail", "cloudpickle", "pandas"])


def _copy_artifacts(path: Path, artifacts: dict[str, str]) -> dict[str, dict[str, str]]:
    from mltrail.models.uri import download_artifact

    saved = {}
    for name, uri in artifacts.items():
        local = download_artifact(os.fspath(uri), path / ARTIFACTS_DIR / name)
        saved[name] = {"path": local.relative_to(path).as_posix(), "uri": os.fspath(uri)}
    return saved


def _context(
    path: Path, saved: dict[str, dict[str, str]], model_config: dict[str, Any] | None
) -> PythonModelContext:
    files = {name: str(path / info["path"]) for name, info in saved.items()}
    return PythonModelContext(files, model_config)


def _load_with_context(data: bytes, context: PythonModelContext) -> Any:
    import cloudpickle

    python_model = cloudpickle.loads(data)
    python_model.load_context(context)
    return python_model


def _load_pyfunc(model_path: str, model_config: dict[str, Any] | None = None) -> Any:
    """Load a PythonModel directory (``mlflow.pyfunc.model``'s loader contract)."""
    path = Path(model_path)
    conf = Model.load(path).flavor(PYFUNC_FLAVOR, path)
    file = conf.get("python_model")
    if not isinstance(file, str):
        raise InvalidParameterValue(
            f"The model at {path} has no python_model file in its {PYFUNC_FLAVOR} flavor; "
            "models saved from code files (MLflow's 'models from code') are not supported."
        )
    saved = conf.get("artifacts") or {}
    config = {**(conf.get("config") or {}), **(model_config or {})}
    context = _context(path, saved, config)
    return _PythonModelWrapper(_load_with_context((path / file).read_bytes(), context), context)
