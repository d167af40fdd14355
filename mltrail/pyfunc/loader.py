"""``load_model`` and ``PyFuncModel``: any supported model behind one ``predict``.

The ``python_function`` flavor names a loader module.  Models saved by either tool
name MLflow's modules (``mlflow.sklearn``, ``mlflow.pyfunc.model``) so MLflow can load
them; mltrail never imports MLflow and maps those names to its own loaders instead.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import inspect
import os
import re
import sys
from pathlib import Path
from typing import Any

from mltrail.errors import InvalidParameterValue
from mltrail.models import confine, integrity
from mltrail.models.enforce import enforce_schema
from mltrail.models.mlmodel import MLMODEL_FILE_NAME, PYFUNC_FLAVOR, Model
from mltrail.models.params import enforce_params
from mltrail.models.uri import resolve_model_uri

#: MLflow's (and mltrail's own) loader modules -> the mltrail module that loads them.
LOADERS = {
    "mlflow.sklearn": "mltrail.sklearn",
    "mlflow.pyfunc.model": "mltrail.pyfunc.model",
    "mltrail.sklearn": "mltrail.sklearn",
    "mltrail.pyfunc.model": "mltrail.pyfunc.model",
}

_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class PyFuncModel:
    """A loaded model: ``predict`` checks its input against the signature, then predicts.

    ``mltrail.pyfunc.load_model`` makes it, for custom models and every flavor alike.

    Example:
        >>> import mltrail
        >>> class AddN(mltrail.pyfunc.PythonModel):
        ...     def predict(self, context, model_input, params=None):
        ...         return [x + context.model_config["n"] for x in model_input]
        >>> _ = mltrail.pyfunc.save_model("add", python_model=AddN(), model_config={"n": 1})
        >>> loaded = mltrail.pyfunc.load_model("add")
        >>> loaded.loader_module, loaded.predict([41])
        ('mlflow.pyfunc.model', [42])
    """

    def __init__(self, model_meta: Model, model_impl: Any, predict_fn: str = "predict") -> None:
        self._meta = model_meta
        self._impl = model_impl
        self._predict_fn = predict_fn
        self._takes_params: bool | None = None  # whether the predict function takes params

    @property
    def metadata(self) -> Model:
        """The model's ``Model`` (its ``MLmodel`` file: flavors, signature, run id ...)."""
        return self._meta

    @property
    def loader_module(self) -> str:
        """The module that loads the model (from its ``python_function`` flavor)."""
        return str(self._meta.flavors[PYFUNC_FLAVOR].get("loader_module"))

    @property
    def model_config(self) -> dict[str, Any]:
        """The settings handed to the model when it loaded."""
        return dict(self._meta.flavors[PYFUNC_FLAVOR].get("config") or {})

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict for a DataFrame, numpy array, dict or list, checked against the signature.

        Args:
            data: the input; with a signature it is checked and converted to the declared
                columns and types first.
            params: inference parameters, checked against the signature's params schema.

        Returns:
            What the model's ``predict`` returns.
        """
        schema = self._meta.get_input_schema()
        if schema is not None:
            data = enforce_schema(data, schema)
        checked = enforce_params(params, self._meta.get_params_schema())
        fn = getattr(self._impl, self._predict_fn)
        if self._takes_params is None:
            self._takes_params = "params" in inspect.signature(fn).parameters
        if self._takes_params:
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


def loader_for(name: Any, model_dir: Path | None = None, code: Any = None) -> Any:
    """The module that loads models whose flavor names ``name`` as loader.

    Only MLflow's and mltrail's own loader names (:data:`LOADERS`) are imported, or a
    module the model ships in its own ``code`` folder (:func:`shipped_loader`); any other
    name is refused before anything is imported: a model never picks a module to run.
    """
    where = f" at {model_dir}" if model_dir is not None else ""
    if not isinstance(name, str) or not _MODULE_NAME.fullmatch(name):
        raise InvalidParameterValue(
            f"Refusing to load the model{where}: its loader_module {name!r} is not a module name."
        )
    target = LOADERS.get(name)
    if target is not None:
        return importlib.import_module(target)
    if model_dir is not None and shipped_loader(model_dir, code, name):
        add_code_path(model_dir, {"code": code})
        return importlib.import_module(name)
    if name.startswith("mlflow."):
        supported = ", ".join(sorted(k for k in LOADERS if k.startswith("mlflow.")))
        raise InvalidParameterValue(
            f"mltrail cannot load models of MLflow's {name} flavor; supported: {supported}."
        )
    raise InvalidParameterValue(
        f"Refusing to load the model{where}: its loader_module {name!r} is neither one "
        f"mltrail knows ({', '.join(sorted(LOADERS))}) nor a module in the model's own code "
        "folder (save it with code_paths=[...]); mltrail imports no other module a model names."
    )


def shipped_loader(model_dir: Path, code: Any, name: str) -> bool:
    """Whether ``name`` is a module in the model's ``code`` folder, and importing it loads
    that file (not an installed or already imported module of the same name)."""
    if not isinstance(code, str) or not code:
        return False
    folder = confine.inside(model_dir, code, f"flavors.{PYFUNC_FLAVOR}.code").resolve()
    top = name.partition(".")[0]
    if top in sys.builtin_module_names:
        return False
    loaded = sys.modules.get(top)
    if loaded is not None:
        file = getattr(loaded, "__file__", None)
        return file is not None and folder in Path(file).resolve().parents
    return importlib.machinery.PathFinder.find_spec(top, [str(folder)]) is not None


def add_code_path(model_dir: Path, conf: dict[str, Any]) -> None:
    """Put the model's ``code`` folder first on sys.path (as MLflow does)."""
    code = conf.get("code")
    if code:
        folder = str(confine.inside(model_dir, code, "code"))
        if folder not in sys.path:
            sys.path.insert(0, folder)


def load_local(model_dir: Path) -> Model:
    """The MLmodel of ``model_dir``, after checking that every path it names stays in the
    folder and that its files match the recorded hashes."""
    confine.inside(model_dir, MLMODEL_FILE_NAME, MLMODEL_FILE_NAME)
    model = Model.load(model_dir)
    confine.check_paths(model_dir, model)
    integrity.verify(model_dir, model)
    return model


def _check_nested(data_path: Path) -> None:
    """The loaders read the MLmodel beside their data too: its paths must stay inside."""
    folder = data_path if data_path.is_dir() else data_path.parent
    if (folder / MLMODEL_FILE_NAME).is_file():
        confine.inside(folder, MLMODEL_FILE_NAME, MLMODEL_FILE_NAME)
        confine.check_paths(folder, Model.load(folder))


def _predict_fn(conf: dict[str, Any], model_dir: Path) -> str:
    name = conf.get("predict_fn") or "predict"
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        raise InvalidParameterValue(
            f"Refusing to load the model at {model_dir}: its predict_fn {name!r} is not a "
            "public method name such as 'predict' or 'predict_proba'."
        )
    return name


def load_model(
    model_uri: str | os.PathLike[str],
    suppress_warnings: bool = False,
    dst_path: str | os.PathLike[str] | None = None,
    model_config: dict[str, Any] | None = None,
) -> PyFuncModel:
    """Load any supported model as a ``PyFuncModel``, whose ``predict`` checks its input.

    Loading unpickles the model's files, which can run code: load only models you
    trust.

    Args:
        model_uri: a local path, ``file://`` URI, ``runs:/<run_id>/<path>``,
            ``models:/<name>/<version|stage|latest>`` or ``models:/<name>@<alias>``.
        suppress_warnings: accepted for MLflow's sake; it has no effect.
        dst_path: for a ``runs:/`` model, a folder to copy its files into first
            (default: load them in place, or from a temporary copy when some of them
            live in the artifact store).
        model_config: settings that replace the saved ones (``context.model_config``).

    Returns:
        The ``PyFuncModel``.

    Example:
        >>> import mltrail
        >>> class AddN(mltrail.pyfunc.PythonModel):
        ...     def predict(self, context, model_input, params=None):
        ...         return [x + context.model_config["n"] for x in model_input]
        >>> _ = mltrail.pyfunc.save_model("add", python_model=AddN(), model_config={"n": 1})
        >>> loaded = mltrail.pyfunc.load_model("add", model_config={"n": 10})
        >>> loaded.predict([1, 2])
        [11, 12]
    """
    local = resolve_model_uri(model_uri, dst_path)
    meta = load_local(local)
    conf = meta.flavor(PYFUNC_FLAVOR, local)
    predict_fn = _predict_fn(conf, local)
    data_path = local / conf["data"] if conf.get("data") else local
    _check_nested(data_path)
    loader = loader_for(conf.get("loader_module"), local, conf.get("code"))
    add_code_path(local, conf)
    if model_config:
        impl = loader._load_pyfunc(str(data_path), model_config)
    else:
        impl = loader._load_pyfunc(str(data_path))
    return PyFuncModel(meta, impl, predict_fn)
