"""The steps every flavor's ``save_model`` shares: the folder, code, example, environment.

A flavor writes its own files between :func:`prepare_dir` and :func:`finish`;
``finish`` writes the environment files, records file hashes and writes MLmodel last.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from mltrail.errors import InvalidParameterValue, MltrailError, ResourceAlreadyExists
from mltrail.models import integrity, requirements
from mltrail.models.example import Example
from mltrail.models.mlmodel import MLMODEL_FILE_NAME, PYFUNC_FLAVOR, Model
from mltrail.models.signature import ModelSignature, infer_param_schema, infer_schema

log = logging.getLogger(__name__)
CODE_DIR = "code"
EXTRA_FILES_DIR = "extra_files"


def prepare_dir(path: str | os.PathLike[str]) -> Path:
    """Create the model folder; an existing non-empty one is an error (as in MLflow)."""
    folder = Path(path).expanduser()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ResourceAlreadyExists(
            f"Cannot save a model to {folder}: it exists already; pick a new path or remove it."
        )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def copy_code_paths(code_paths: Iterable[str | os.PathLike[str]] | None, path: Path) -> str | None:
    """Copy files/folders into ``<model>/code``; the folder name for the flavor (or None)."""
    if not code_paths:
        return None
    dest = path / CODE_DIR
    dest.mkdir()
    for item in code_paths:
        src = Path(item)
        if src.is_dir():
            shutil.copytree(src, dest / src.name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.is_file():
            shutil.copyfile(src, dest / src.name)
        else:
            raise InvalidParameterValue(f"code_paths entry {os.fspath(src)!r} does not exist.")
    return CODE_DIR


#: Run in a new process by :func:`infer_code_paths`: the modules loading a model imports.
_CAPTURE = """
import json, sys
import mltrail.pyfunc
before = set(sys.modules)
mltrail.pyfunc.load_model(sys.argv[1])
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def infer_code_paths(model: Model, path: Path) -> str | None:
    """MLflow's ``infer_code_paths``: load the saved model at ``path`` in a new process run
    from the working directory, and copy the working directory's own Python files that
    loading imported (a module and its packages' ``__init__.py``) into ``<model>/code``,
    at the same relative paths; the folder name for the flavor (None when none were)."""
    import json
    import subprocess
    import sys

    model.save(path / MLMODEL_FILE_NAME)  # what the new process loads (rewritten after)
    done = subprocess.run(
        [sys.executable, "-c", _CAPTURE, os.fspath(path)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise InvalidParameterValue(
            f"infer_code_paths: loading the model in a new process failed ({why}); "
            "run from the folder holding the model's modules, or give code_paths instead."
        )
    names = set(json.loads(lines[-1]))
    for name in list(names):
        while "." in name:
            name = name.rpartition(".")[0]
            names.add(name)
    cwd = Path.cwd()
    found = set()
    for name in names:
        rel = Path(*name.split("."))
        for candidate in (rel / "__init__.py", rel.with_name(rel.name + ".py")):
            if (cwd / candidate).is_file():
                found.add(candidate)
    for rel in sorted(found):
        dest = path / CODE_DIR / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cwd / rel, dest)
    return CODE_DIR if found else None


def copy_extra_files(
    extra_files: Iterable[str | os.PathLike[str]] | None, path: Path
) -> dict[str, Any]:
    """Copy ``extra_files`` into ``<model>/extra_files``; the flavor config entry."""
    if not extra_files:
        return {}
    dest = path / EXTRA_FILES_DIR
    dest.mkdir()
    entries = []
    for item in extra_files:
        src = Path(item)
        if not src.is_file():
            raise InvalidParameterValue(f"extra_files entry {os.fspath(src)!r} is not a file.")
        shutil.copyfile(src, dest / src.name)
        entries.append({"path": f"{EXTRA_FILES_DIR}/{src.name}"})
    return {"extra_files": entries}


def infer_from_example(
    example: Example, predict: Callable[[Any, dict[str, Any] | None], Any]
) -> ModelSignature | None:
    """The signature of ``example`` and of the model's prediction for it (None on failure)."""
    import numpy as np
    import pandas as pd

    from mltrail.models.enforce import enforce_schema
    from mltrail.models.params import enforce_params

    try:
        inputs = infer_schema(example.data)
        params = infer_param_schema(example.params) if example.params else None
        data = enforce_schema(example.data, inputs)
        prediction = predict(data, enforce_params(example.params, params))
        one_d = isinstance(prediction, np.ndarray) and prediction.ndim == 1
        if one_d and not inputs.is_tensor_spec():
            prediction = pd.Series(prediction)  # row-wise predictions: one column (as MLflow)
        outputs = infer_schema(prediction) if prediction is not None else None
    except (MltrailError, ValueError, TypeError, KeyError, AttributeError) as e:
        log.warning(
            "Could not infer the model signature from the input example (%s); the model is "
            "saved without one. Pass signature=infer_signature(X, y) to set it.",
            e,
        )
        return None
    return ModelSignature(inputs, outputs, params)


def add_pyfunc_flavor(
    model: Model,
    loader_module: str,
    code: str | None = None,
    **conf: Any,
) -> None:
    """The ``python_function`` flavor, as ``mlflow.pyfunc.add_to_model`` writes it."""
    import platform

    flavor: dict[str, Any] = {"loader_module": loader_module, **conf}
    if code:
        flavor["code"] = code
    flavor["python_version"] = platform.python_version()
    flavor["env"] = {
        "conda": requirements.CONDA_ENV_FILE,
        "virtualenv": requirements.PYTHON_ENV_FILE,
    }
    model.add_flavor(PYFUNC_FLAVOR, **flavor)


def finish(
    model: Model,
    path: Path,
    inferred: list[str],
    conda_env: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
) -> Model:
    """Write the environment files, record sizes and hashes, then MLmodel."""
    reqs, env = requirements.resolve_requirements(
        inferred, conda_env, pip_requirements, extra_pip_requirements
    )
    model.model_size_bytes = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    requirements.write_environment(path, reqs, env)
    model.set_mltrail_record(integrity.file_hashes(path))
    model.save(path / MLMODEL_FILE_NAME)
    return model
