"""``load_model`` and ``PyFuncModel``: any supported model behind one ``predict``.

The ``python_function`` flavor names a loader module.  Models saved by either tool
name MLflow's modules (``mlflow.sklearn``, ``mlflow.pyfunc.model``) so MLflow can load
them; mltrail never imports MLflow and maps those names to its own loaders instead.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from pathlib import Path
from typing import Any

from mltrail.errors import InvalidParameterValue
from mltrail.models import integrity
from mltrail.models.enforce import enforce_schema
from mltrail.models.mlmodel import PYFUNC_FLAVOR, Model
from mltrail.models.params import enforce_params
from mltrail.models.uri import resolve_model_uri

#: MLflow's (and mltrail's own) loader modules -> the mltrail module that loads them.
LOADERS = {
    "mlflow.sklearn": "mltrail.sklearn",
    "mlflow.pyfunc.model": "mltrail.pyfunc.model",
    "mltrail.sklearn": "mltrail.sklearn",
    "mltrail.pyfunc.model": "mltrail.pyfunc.model",
}


class PyFuncModel:
    """A loaded model: ``predict(data, params=None)`` checks input against the signature."""

    def __init__(self, model_meta: Model, model_impl: Any, predict_fn: str = "predict") -> None:
        self._meta = model_meta
        self._impl = model_impl
        self._predict_fn = predict_fn

    @property
    def metadata(self) -> Model:
        return self._meta

    @property
    def loader_module(self) -> str:
        return str(self._meta.flavors[PYFUNC_FLAVOR].get("loader_module"))

    @property
    def model_config(self) -> dict[str, Any]:
        return dict(self._meta.flavors[PYFUNC_FLAVOR].get("config") or {})

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predictions for a DataFrame, numpy array, dict or list."""
        schema = self._meta.get_input_schema()
        if schema is not None:
            data = enforce_schema(data, schema)
        checked = enforce_params(params, self._meta.get_params_schema())
        fn = getattr(self._impl, self._predict_fn)
        if "params" in inspect.signature(fn).parameters:
            return fn(data, params=checked)
        return fn(data)

    def unwrap_python_model(self) -> Any:
        """The user's ``PythonModel`` instance (custom models only)."""
        unwrap = getattr(self._impl, "unwrap_python_model", None)
        if unwrap is None:
            raise InvalidParameterValue(
                "This model is not a custom PythonModel; use get_raw_model() instead."
            )
        return unwrap()

    def get_raw_model(self) -> Any:
        """The underlying model object (e.g. the scikit-learn estimator)."""
        raw = getattr(self._impl, "get_raw_model", None)
        return raw() if raw is not None else self.unwrap_python_model()

    def __repr__(self) -> str:
        return f"mltrail.pyfunc.loaded_model: {self._meta!r} (loader {self.loader_module})"


def loader_for(name: str) -> Any:
    """The module that loads models whose flavor names ``name`` as loader."""
    target = LOADERS.get(name)
    if target is None and name.startswith("mlflow."):
        supported = ", ".join(sorted(k for k in LOADERS if k.startswith("mlflow.")))
        raise InvalidParameterValue(
            f"mltrail cannot load models of MLflow's {name} flavor; supported: {supported}."
        )
    return importlib.import_module(target or name)


def add_code_path(model_dir: Path, conf: dict[str, Any]) -> None:
    """Put the model's ``code`` folder first on sys.path (as MLflow does)."""
    code = conf.get("code")
    if code:
        folder = str(model_dir / code)
        if folder not in sys.path:
            sys.path.insert(0, folder)


def load_local(model_dir: Path) -> Model:
    """The MLmodel of ``model_dir``, after checking its files against the recorded hashes."""
    model = Model.load(model_dir)
    integrity.verify(model_dir, model)
    return model


def load_model(
    model_uri: str | os.PathLike[str],
    suppress_warnings: bool = False,
    dst_path: str | os.PathLike[str] | None = None,
    model_config: dict[str, Any] | None = None,
) -> PyFuncModel:
    """Load a model (local path, file://, runs:/ or models:/ URI) as a PyFuncModel."""
    local = resolve_model_uri(model_uri, dst_path)
    meta = load_local(local)
    conf = meta.flavor(PYFUNC_FLAVOR, local)
    add_code_path(local, conf)
    data_path = local / conf["data"] if conf.get("data") else local
    loader = loader_for(str(conf.get("loader_module")))
    if model_config:
        impl = loader._load_pyfunc(str(data_path), model_config)
    else:
        impl = loader._load_pyfunc(str(data_path))
    return PyFuncModel(meta, impl, str(conf.get("predict_fn") or "predict"))
