"""``mltrail models generate-dockerfile``: a folder ``docker build`` turns into an image
that serves one model, as ``mlflow models generate-dockerfile`` writes for MLflow.

The folder mirrors the image's ``/opt/ml``, so every relative path in it means the same
thing on the build machine and in the image::

    Dockerfile        FROM python:<the model's version>-slim ... ENTRYPOINT mltrail models serve
    requirements.txt  "-r model/requirements.txt" and the mltrail requirement
    model/            the model folder, checked against the hashes recorded when it was saved
    mltrail_pkg/      mltrail itself, when the requirement names a local wheel or folder

It is written into a temporary folder beside the output folder and renamed into place
only when complete, so a failure leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mltrail.errors import InvalidParameterValue, MltrailError, ResourceAlreadyExists
from mltrail.store import formats

if TYPE_CHECKING:
    from mltrail.models.mlmodel import Model
    from mltrail.store import FileStore

log = logging.getLogger(__name__)

DOCKERFILE = "Dockerfile"
REQUIREMENTS = "requirements.txt"
#: The model's folder in the output folder; the image has it at ``IMAGE_ROOT/MODEL_DIR``.
MODEL_DIR = "model"
#: Where a local mltrail wheel or source folder is copied (in the output and the image).
PACKAGE_DIR = "mltrail_pkg"
IMAGE_ROOT = "/opt/ml"
IMAGE_MODEL = f"{IMAGE_ROOT}/{MODEL_DIR}"
#: The port the image's server listens on (MLflow's images use it too).
PORT = 8080
#: What the image runs; ``docker run IMAGE --workers 4`` appends options to it.
SERVE_COMMAND = ("mltrail", "models", "serve", "-m", IMAGE_MODEL, "-h", "0.0.0.0", "-p", str(PORT))
#: The oldest Python mltrail installs on (``requires-python`` in pyproject.toml).
MIN_PYTHON = (3, 11)
_PYTHON_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.\d+)?")
#: Left out of a copied mltrail source folder: build outputs, caches, environments.
_SOURCE_IGNORED = (".git", ".venv", "venv", "node_modules", "__pycache__", "*.egg-info",
                   "build", "dist", ".mypy_cache", ".pytest_cache", ".ruff_cache")  # fmt: skip


@dataclass(frozen=True)
class DockerContext:
    """What :func:`generate_dockerfile` wrote."""

    path: Path
    base_image: str
    mltrail_requirement: str


def default_mltrail_requirement() -> str:
    """``mltrail==<the installed version>``: what the image installs unless told otherwise."""
    import mltrail

    return f"mltrail=={mltrail.__version__}"


def generate_dockerfile(
    model_uri: str,
    output_dir: Path,
    mltrail_requirement: str | None = None,
    force: bool = False,
    store: FileStore | None = None,
) -> DockerContext:
    """Write ``output_dir``: a Docker build context serving the model at ``model_uri``.

    Args:
        model_uri: a model folder, ``runs:/<run_id>/<path>``, ``models:/<name>/<version|stage>``
            or ``models:/<name>@<alias>`` (resolved in ``store``, default: the active store).
        output_dir: the folder to write; an existing non-empty one is refused unless ``force``
            (then it is replaced whole).
        mltrail_requirement: how the image installs mltrail: a pip requirement
            (``mltrail==0.1.0``, ``git+https://...``) or a local wheel or source folder,
            copied into the output; default :func:`default_mltrail_requirement`.
        force: replace an existing non-empty ``output_dir``.
        store: the store ``runs:/`` and ``models:/`` URIs are resolved in.

    Returns:
        The folder written, its base image and the mltrail requirement.
    """
    requirement = _check_requirement(mltrail_requirement or default_mltrail_requirement())
    output_dir = Path(output_dir)
    _refuse_existing(output_dir, force)
    parents = output_dir.absolute().parents
    created = [p for p in parents if not p.exists()]  # removed again if this fails
    staging = _staging_dir(output_dir)
    try:
        model = _copy_model(model_uri, staging / MODEL_DIR, staging, store)
        base_image = f"python:{_python_version(staging / MODEL_DIR, model)}-slim"
        line = _place_package(requirement, staging, output_dir)
        _write(staging / REQUIREMENTS, _requirements_text(staging / MODEL_DIR, line))
        _write(staging / DOCKERFILE, dockerfile_text(base_image, line != requirement))
        _move_into_place(staging, output_dir, force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # before its parents
        for folder in created:  # deepest first; only if still empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("Wrote a Docker build context for %s into %s", model_uri, output_dir)
    return DockerContext(output_dir, base_image, requirement)


def dockerfile_text(base_image: str, local_package: bool) -> str:
    """The Dockerfile serving ``IMAGE_MODEL`` (``local_package``: mltrail is in PACKAGE_DIR)."""
    package = f"COPY {PACKAGE_DIR} {PACKAGE_DIR}\n" if local_package else ""
    return (
        "# Serves the model in model/ with `mltrail models serve` on port 8080.\n"
        "# Written by `mltrail models generate-dockerfile`; build it with\n"
        "#   docker build -t my-model .\n"
        "# and run it with\n"
        "#   docker run -p 5000:8080 my-model\n"
        f"FROM {base_image}\n"
        "ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1\n"
        f"WORKDIR {IMAGE_ROOT}\n"
        f"COPY {MODEL_DIR} {MODEL_DIR}\n"
        f"COPY {REQUIREMENTS} {REQUIREMENTS}\n"
        f"{package}"
        f"RUN pip install -r {REQUIREMENTS}\n"
        f"EXPOSE {PORT}\n"
        f"ENTRYPOINT {json.dumps(list(SERVE_COMMAND))}\n"
    )


def _check_requirement(text: str) -> str:
    text = text.strip()
    if not text or any(c in text for c in "\r\n\x00"):
        raise InvalidParameterValue(
            f"The mltrail requirement {text!r} is not one line: give a pip requirement "
            "(mltrail==0.1.0, git+https://...) or the path of a wheel or source folder."
        )
    return text


def _refuse_existing(output_dir: Path, force: bool) -> None:
    if output_dir.is_symlink() or (output_dir.exists() and not output_dir.is_dir()):
        raise ResourceAlreadyExists(
            f"{output_dir} exists and is not a folder; choose another --output-directory."
        )
    if not force and output_dir.is_dir() and any(output_dir.iterdir()):
        raise ResourceAlreadyExists(
            f"{output_dir} exists and is not empty; choose another --output-directory or "
            "pass --force to replace it."
        )


def _staging_dir(output_dir: Path) -> Path:
    """A new temporary folder beside ``output_dir`` (same file system: renamed at the end)."""
    parent = output_dir.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.", suffix=".tmp", dir=parent))
    except OSError as e:
        raise MltrailError(f"Cannot write the output folder {output_dir}: {e}") from e


def _copy_model(uri: str, dst: Path, staging: Path, store: FileStore | None) -> Model:
    """Copy the model at ``uri`` to ``dst``; check the copy as ``load_model`` checks a model."""
    from mltrail.models import confine
    from mltrail.models.uri import resolve_model_uri
    from mltrail.pyfunc.loader import load_local

    fetched = resolve_model_uri(uri, dst_path=staging / ".fetch", store=store)
    confine.refuse_links(fetched, uri)
    try:
        if staging in fetched.absolute().parents:
            fetched.rename(dst)  # downloaded from the artifact store: already a copy
        else:
            shutil.copytree(fetched, dst)
    except OSError as e:
        raise MltrailError(f"Cannot copy the model at {uri} into {dst.parent}: {e}") from e
    shutil.rmtree(staging / ".fetch", ignore_errors=True)
    model = load_local(dst)  # paths stay inside; files match their recorded hashes
    _check_servable(dst, model)
    return model


def _check_servable(model_dir: Path, model: Model) -> None:
    """Refuse a model ``mltrail models serve`` cannot load, without importing its code."""
    from mltrail.models.mlmodel import PYFUNC_FLAVOR
    from mltrail.pyfunc.loader import LOADERS, shipped_loader

    conf = model.flavor(PYFUNC_FLAVOR, model_dir)
    name = conf.get("loader_module")
    if name in LOADERS or (
        isinstance(name, str) and shipped_loader(model_dir, conf.get("code"), name)
    ):
        return
    raise InvalidParameterValue(
        f"mltrail cannot serve the model: its loader_module {name!r} is neither one mltrail "
        f"knows ({', '.join(sorted(LOADERS))}) nor a module in the model's own code folder."
    )


def _python_version(model_dir: Path, model: Model) -> str:
    """The Python the model was saved with (python_env.yaml), for the base image's tag."""
    found = _saved_python(model_dir, model)
    if found is None:
        found = f"{sys.version_info.major}.{sys.version_info.minor}"
        log.warning("The model names no Python version; the image uses this one's (%s).", found)
        return found
    match = _PYTHON_VERSION.fullmatch(found)
    if match is None:
        raise InvalidParameterValue(
            f"The model's python_env.yaml names Python {found!r}, which is not a version "
            "such as 3.11 or 3.11.9; fix the file or save the model again."
        )
    if (int(match[1]), int(match[2])) < MIN_PYTHON:
        oldest = ".".join(map(str, MIN_PYTHON))
        log.warning(
            "The model was saved with Python %s; mltrail needs %s or newer, so the image "
            "uses Python %s.", found, oldest, oldest
        )  # fmt: skip
        return oldest
    return found


def _saved_python(model_dir: Path, model: Model) -> str | None:
    from mltrail.models import confine
    from mltrail.models.mlmodel import PYFUNC_FLAVOR
    from mltrail.models.requirements import PYTHON_ENV_FILE

    conf = model.flavors.get(PYFUNC_FLAVOR) or {}
    env = conf.get("env")
    rel = env.get("virtualenv") if isinstance(env, dict) else None
    file = confine.inside(model_dir, rel or PYTHON_ENV_FILE, "flavors.python_function.env")
    data: Any = None
    if file.is_file():
        try:
            data = formats.parse_yaml(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            raise InvalidParameterValue(f"Cannot read the model's {file.name}: {e}") from e
    python = data.get("python") if isinstance(data, dict) else None
    python = python if python is not None else conf.get("python_version")
    return None if python is None else str(python)


def _place_package(requirement: str, staging: Path, output_dir: Path) -> str:
    """The requirement line for ``requirement``: a local wheel or folder is copied into
    ``staging/PACKAGE_DIR`` and named by its path there."""
    source = Path(requirement).expanduser()
    if not source.exists():
        return requirement
    target = staging / PACKAGE_DIR
    try:
        if source.is_dir():
            shutil.copytree(source, target, ignore=_ignore_in_source(output_dir))
            return f"./{PACKAGE_DIR}"
        target.mkdir()
        shutil.copy2(source, target / source.name)
    except OSError as e:
        raise MltrailError(f"Cannot copy mltrail from {source}: {e}") from e
    return f"./{PACKAGE_DIR}/{source.name}"


def _ignore_in_source(output_dir: Path) -> Any:
    """``copytree``'s filter for a source folder: build outputs, and the output folder and
    its temporary folders (they may lie inside the source)."""
    common = shutil.ignore_patterns(*_SOURCE_IGNORED)
    parent, name = output_dir.absolute().parent, output_dir.name

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = set(common(folder, names))
        if Path(folder).absolute() == parent:
            skipped.update(n for n in names if n == name or n.startswith(f".{name}."))
        return skipped

    return ignore


def _requirements_text(model_dir: Path, mltrail_line: str) -> str:
    lines = []
    if (model_dir / REQUIREMENTS).is_file():
        lines += ["# The model's own requirements", f"-r {MODEL_DIR}/{REQUIREMENTS}"]
    lines += ["# mltrail, whose `mltrail models serve` serves the model", mltrail_line]
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise MltrailError(f"Cannot write {path}: {e}") from e


def _move_into_place(staging: Path, output_dir: Path, force: bool) -> None:
    """Rename the finished ``staging`` folder to ``output_dir`` (replacing it with ``force``)."""
    try:
        if not (output_dir.is_dir() and any(output_dir.iterdir())):
            os.replace(staging, output_dir)  # also replaces an empty folder
            return
        _refuse_existing(output_dir, force)  # made while we wrote: never take another's
        old = Path(
            tempfile.mkdtemp(prefix=f".{output_dir.name}.", suffix=".old", dir=staging.parent)
        )
        os.replace(output_dir, old / "previous")
        try:
            os.replace(staging, output_dir)
        except OSError:
            os.replace(old / "previous", output_dir)
            raise
        finally:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as e:
        raise MltrailError(f"Cannot write the output folder {output_dir}: {e}") from e
