"""A model's pip requirements, inferred without a subprocess.

MLflow loads the model in a child process and records every module it imports (about
3 s).  mltrail reads the serialized model instead: a pickle names every module whose
classes or functions it needs (its GLOBAL / STACK_GLOBAL opcodes, and cloudpickle's
``subimport`` calls), and a skops file names them in its ``schema.json``.  Those
modules, plus what the flavor itself needs, are mapped to installed distributions
with :mod:`importlib.metadata` and pinned.  Imports made *inside* a function body are
not visible this way: pass them with ``extra_pip_requirements``.
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import json
import logging
import os
import pickletools
import platform
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from mltrail.errors import InvalidParameterValue
from mltrail.store import formats

log = logging.getLogger(__name__)

REQUIREMENTS_FILE = "requirements.txt"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_ENV_FILE = "conda.yaml"

#: Import names whose distribution is named differently (checked before a full scan).
_KNOWN = {
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "PIL": "pillow",
    "yaml": "PyYAML",
    "cv2": "opencv-python",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "google.protobuf": "protobuf",
    "attr": "attrs",
}
_NOT_PACKAGES = {"__main__", "__builtin__", "builtins", "copyreg", "_codecs"}
_STRING_OPS = {
    "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE",
    "SHORT_BINSTRING", "BINSTRING", "STRING",
}  # fmt: skip
_MEMO_PUTS = {"MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"}
_MEMO_GETS = {"GET", "BINGET", "LONG_BINGET"}
_NO_PUSH = _MEMO_PUTS | {"PROTO", "FRAME", "STOP"}


def modules_in_pickle(data: bytes) -> set[str]:
    """The modules a pickle imports when it is loaded (without loading it)."""
    modules: set[str] = set()
    pushes: list[str | None] = []  # what each opcode pushed (a string, or None)
    memo: dict[Any, str | None] = {}
    want_module = False
    for op, arg, _ in pickletools.genops(data):
        name = op.name
        if name in _MEMO_PUTS:
            memo[len(memo) if name == "MEMOIZE" else arg] = pushes[-1] if pushes else None
            continue
        if name in _NO_PUSH:
            continue
        pushed = arg if name in _STRING_OPS else memo.get(arg) if name in _MEMO_GETS else None
        if name in ("GLOBAL", "INST"):
            modules.add(str(arg).split(" ", 1)[0])
        elif name == "STACK_GLOBAL" and len(pushes) >= 2:
            module, qualname = pushes[-2], pushes[-1]
            if isinstance(module, str):
                modules.add(module)
            want_module = qualname == "subimport" or (module, qualname) == (
                "importlib", "import_module",
            )  # fmt: skip
        elif want_module and isinstance(pushed, str):
            modules.add(pushed)
            want_module = False
        pushes.append(pushed if isinstance(pushed, str) else None)
        del pushes[:-4]
    return modules


def modules_in_skops(path: Path) -> set[str]:
    """The modules named in a skops file's schema (every object's ``__module__``)."""
    with zipfile.ZipFile(path) as archive:
        schema = json.loads(archive.read("schema.json"))
    found: set[str] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            module = node.get("__module__")
            if isinstance(module, str):
                found.add(module)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


@functools.cache
def _packages_distributions() -> dict[str, list[str]]:
    return dict(md.packages_distributions())  # a full scan: used only for unusual names


@functools.cache
def pinned_requirement(module: str) -> str | None:
    """``name==version`` of the installed distribution providing ``module`` (or None)."""
    top = module.split(".", 1)[0]
    if top in sys.stdlib_module_names or top in _NOT_PACKAGES or not top:
        return None
    candidates = [_KNOWN.get(".".join(module.split(".")[:2]), ""), _KNOWN.get(top, top)]
    for name in filter(None, candidates):
        try:
            dist = md.distribution(name)
        except (md.PackageNotFoundError, ValueError):
            continue
        return f"{dist.metadata['Name']}=={dist.version}"
    if not _is_installed_package(top):
        return None  # the user's own code (e.g. from code_paths): nothing to install
    for name in _packages_distributions().get(top, []):
        return f"{name}=={md.version(name)}"
    return None


def _is_installed_package(top: str) -> bool:
    mod = sys.modules.get(top)
    file = getattr(mod, "__file__", None) or ""
    return "site-packages" in file or "dist-packages" in file


@functools.cache
def _pinned_distribution(name: str) -> str | None:
    try:
        dist = md.distribution(name)
    except md.PackageNotFoundError:
        log.debug("%s is not installed; it is left out of the requirements", name)
        return None
    return f"{dist.metadata['Name']}=={dist.version}"


def requirements_for(modules: Iterable[str], packages: Iterable[str] = ()) -> list[str]:
    """Sorted pins for ``modules`` and the distribution names in ``packages``."""
    pins = {pinned_requirement(m) for m in modules} | {_pinned_distribution(p) for p in packages}
    return sorted({p for p in pins if p}, key=str.lower)


def _read_requirements(value: str | os.PathLike[str] | Iterable[str]) -> list[str]:
    if isinstance(value, (str, os.PathLike)):
        try:
            lines = Path(value).read_text().splitlines()
        except OSError as e:
            raise InvalidParameterValue(f"Cannot read requirements file {value}: {e}") from e
        return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]
    return [str(r) for r in value]


def resolve_requirements(
    inferred: list[str],
    conda_env: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
) -> tuple[list[str], dict[str, Any] | None]:
    """(pip requirements, a user-given conda env or None), with MLflow's precedence."""
    given = [x is not None for x in (conda_env, pip_requirements, extra_pip_requirements)]
    if sum(given) > 1:
        raise InvalidParameterValue(
            "Give only one of conda_env, pip_requirements and extra_pip_requirements."
        )
    if conda_env is not None:
        env = conda_env
        if isinstance(conda_env, (str, os.PathLike)):
            env = formats.parse_yaml(Path(conda_env).read_text())
        if not isinstance(env, dict):
            raise InvalidParameterValue("conda_env must be a dict or the path of a YAML file.")
        return _pip_of_conda(env), env
    if pip_requirements is not None:
        return _read_requirements(pip_requirements), None
    extra = _read_requirements(extra_pip_requirements) if extra_pip_requirements else []
    return [*inferred, *(r for r in extra if r not in inferred)], None


def _pip_of_conda(env: dict[str, Any]) -> list[str]:
    for dep in env.get("dependencies") or []:
        if isinstance(dep, dict) and isinstance(dep.get("pip"), list):
            return [str(r) for r in dep["pip"]]
    return []


@functools.cache
def _version(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def _pinned(name: str) -> str:
    version = _version(name)
    return f"{name}=={version}" if version else name


def write_environment(
    path: Path, requirements: list[str], conda_env: dict[str, Any] | None = None
) -> None:
    """Write requirements.txt, python_env.yaml and conda.yaml into model dir ``path``."""
    python = platform.python_version()
    (path / REQUIREMENTS_FILE).write_text("\n".join(requirements))
    python_env = {
        "python": python,
        "build_dependencies": [_pinned("pip"), _pinned("setuptools"), "wheel"],
        "dependencies": [f"-r {REQUIREMENTS_FILE}"],
    }
    (path / PYTHON_ENV_FILE).write_text(
        yaml.safe_dump(python_env, default_flow_style=False, sort_keys=False)
    )
    pip = _version("pip")
    env = conda_env or {
        "channels": ["conda-forge"],
        "dependencies": [f"python={python}", f"pip<={pip}" if pip else "pip",
                         {"pip": requirements}],
        "name": "mlflow-env",
    }  # fmt: skip
    (path / CONDA_ENV_FILE).write_text(yaml.safe_dump(env, default_flow_style=False))
