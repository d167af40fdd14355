"""The MLproject file, read as MLflow reads it, checked before anything runs.

An ``MLproject`` file (any letter case) is YAML with a ``name``; at most one environment,
``python_env`` (a ``python_env.yaml`` file), ``conda_env`` (a ``conda.yaml`` file) or
``docker_env`` (an ``image``); and ``entry_points``: each has a ``command`` template and
``parameters``, typed ``string``, ``float``, ``int``, ``path`` or ``uri``, with an
optional ``default`` (a parameter without one is required). Without an MLproject file, a
``python_env.yaml`` or ``conda.yaml`` beside it names the environment, and an entry point
may be a script: ``train.py`` runs with the current interpreter, ``run.sh`` with bash.

Parameter values are substituted into the command shell-quoted; ``path`` values become
absolute local paths; values for parameters the entry point does not declare are
appended as ``--key value``. Every mistake (malformed YAML, an unknown entry point, a
missing required value, a value of the wrong type, a command naming an undeclared
parameter, an environment file outside the project) is a :class:`ProjectError` naming
the file and what to change, raised before any run is created.
"""

from __future__ import annotations

import math
import os
import shlex
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from mltrail.errors import InvalidParameterValue

MLPROJECT = "MLproject"
PYTHON_ENV, CONDA_ENV, DOCKER_ENV = "python_env", "conda_env", "docker_env"
ENV_KEYS = (PYTHON_ENV, CONDA_ENV, DOCKER_ENV)
DEFAULT_ENV_FILES = {PYTHON_ENV: "python_env.yaml", CONDA_ENV: "conda.yaml"}
PARAMETER_TYPES = ("string", "float", "int", "path", "uri")
#: A project file (MLproject, python_env.yaml) larger than this is refused unread
#: (a project may come from anywhere).
MAX_FILE_BYTES = 1024 * 1024


class ProjectError(InvalidParameterValue):
    """A project, entry point or parameter value that cannot run (nothing was started)."""


@dataclass(frozen=True)
class Parameter:
    """One declared parameter: its type and default (None: required)."""

    name: str
    type: str = "string"
    default: str | None = None

    @property
    def required(self) -> bool:
        return self.default is None

    def value(self, given: Any, cwd: Path) -> str:
        """``given`` checked against the type, as the text the command receives."""
        text = _text(given)
        where = f"parameter {self.name!r} ({self.type})"
        if self.type == "int":
            try:
                int(text)
            except ValueError:
                raise ProjectError(f"{where} must be an integer; got {text!r}.") from None
        elif self.type == "float":
            try:
                number = float(text)
            except ValueError:
                raise ProjectError(f"{where} must be a number; got {text!r}.") from None
            if math.isnan(number):
                raise ProjectError(f"{where} must be a number; got {text!r}.")
        elif self.type == "path":
            return str(_local_path(text, where, cwd))
        elif self.type == "uri" and not urlsplit(text).scheme:
            raise ProjectError(
                f"{where} must be a URI with a scheme (s3://, file://...); got {text!r}."
            )
        return text


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float):
        return str(value)
    raise ProjectError(f"A parameter value must be text or a number; got {type(value).__name__}.")


def _local_path(text: str, where: str, cwd: Path) -> Path:
    parts = urlsplit(text)
    if parts.scheme == "file":
        path = Path(unquote(parts.path))
    elif len(parts.scheme) > 1:
        raise ProjectError(
            f"{where}: {text!r} is not a local path; mltrail run does not download "
            "path parameters, so copy it here first."
        )
    else:
        path = Path(text).expanduser()
    path = path if path.is_absolute() else cwd / path
    if not path.exists():
        raise ProjectError(f"{where}: {text!r} does not exist (looked at {path}).")
    return path.resolve()


@dataclass(frozen=True)
class EntryPoint:
    """An entry point: its parameters (in declaration order) and command template."""

    name: str
    command: str
    parameters: dict[str, Parameter] = field(default_factory=dict)

    def values(
        self, given: dict[str, Any], cwd: Path, project: Path
    ) -> tuple[dict[str, str], dict[str, str]]:
        """(declared parameter values, extra values) for ``given``, checked. A relative
        path parameter is read from ``cwd`` when given, from ``project`` when defaulted."""
        missing = [p.name for p in self.parameters.values() if p.required and p.name not in given]
        if missing:
            names = ", ".join(repr(m) for m in missing)
            raise ProjectError(
                f"Entry point {self.name!r} needs a value for {names}: pass -P NAME=VALUE."
            )
        declared = {
            name: p.value(given[name], cwd) if name in given else p.value(p.default, project)
            for name, p in self.parameters.items()
        }
        extra = {str(k): _text(v) for k, v in given.items() if k not in self.parameters}
        return declared, extra

    def command_line(self, declared: dict[str, str], extra: dict[str, str]) -> str:
        """The shell command: the template with quoted values, then ``--key value`` extras."""
        line = self.command.format(**{k: shlex.quote(v) for k, v in declared.items()})
        tail = [f"--{shlex.quote(k)} {shlex.quote(v)}" for k, v in extra.items()]
        return " ".join([line, *tail])


@dataclass(frozen=True)
class Project:
    """A loaded project: where it is, its name, environment and entry points."""

    directory: Path
    name: str | None
    env_type: str
    env_file: Path | None
    docker_env: dict[str, Any] | None
    entry_points: dict[str, EntryPoint]
    mlproject: Path | None

    def entry_point(self, name: str, python: str = sys.executable) -> EntryPoint:
        """The entry point ``name``, or a script of the project: ``.py`` runs with
        ``python``, ``.sh`` with bash."""
        if name in self.entry_points:
            return self.entry_points[name]
        suffix = Path(name).suffix
        if suffix in (".py", ".sh"):
            script = _inside(self.directory, name, f"entry point {name!r}")
            if not script.is_file():
                raise ProjectError(
                    f"Entry point {name!r}: there is no such script in {self.directory}."
                )
            runner = shlex.quote(python) if suffix == ".py" else "bash"
            return EntryPoint(name, f"{runner} {shlex.quote(name)}")
        known = ", ".join(repr(n) for n in self.entry_points) or "none"
        raise ProjectError(
            f"No entry point {name!r} in {self.mlproject or self.directory} (entry points: "
            f"{known}); a .py or .sh file of the project also runs as an entry point."
        )


def find_mlproject(directory: Path) -> Path | None:
    """The MLproject file of ``directory`` (any letter case), if any."""
    for child in sorted(directory.iterdir()):
        if child.name.lower() == MLPROJECT.lower() and child.is_file():
            return child
    return None


def load_project(directory: str | os.PathLike[str]) -> Project:
    """The project in ``directory`` (a folder with or without an MLproject file)."""
    root = Path(directory).resolve()
    if not root.is_dir():
        raise ProjectError(f"No project at {directory}: it is not a folder.")
    path = find_mlproject(root)
    spec = ProjectSpec()
    if path is not None:
        _check_size(path)
        spec = parse_mlproject(_read_text(path), str(path))
    env_type, env_file = _environment_file(spec, root, str(path or root))
    return Project(root, spec.name, env_type, env_file, spec.docker_env, spec.entry_points, path)


@dataclass(frozen=True)
class ProjectSpec:
    """What an MLproject file says, read from its text alone (no file is looked at).

    ``env_key`` is the environment it names (``python_env``, ``conda_env`` or
    ``docker_env``; None when it names none) and ``env_file`` the file a ``python_env``
    or ``conda_env`` names, as written (relative to the project's folder).
    """

    name: str | None = None
    env_key: str | None = None
    env_file: str | None = None
    docker_env: dict[str, Any] | None = None
    entry_points: dict[str, EntryPoint] = field(default_factory=dict)


def parse_mlproject(text: str, where: str, *, aliases: bool = True) -> ProjectSpec:
    """The MLproject file ``text`` (named ``where`` in errors), checked as :func:`load_project`
    checks it, except that no file it names is looked for. ``aliases=False`` refuses YAML
    aliases (for a file from a store, which is hostile: docs/SECURITY.md).

    Example:
        >>> spec = parse_mlproject("entry_points: {main: {command: 'python t.py {a}', "
        ...                        "parameters: {a: {type: int, default: 3}}}}", "MLproject")
        >>> spec.entry_points["main"].parameters["a"]
        Parameter(name='a', type='int', default='3')
    """
    record = parse_mapping(text, where, "name, entry_points...", aliases=aliases)
    name = record.get("name")
    if name is not None and not isinstance(name, str | int | float):
        raise ProjectError(f"{where}: name must be text.")
    env_key, env_file, docker_env = _declared_environment(record, where)
    return ProjectSpec(
        str(name) if name is not None else None,
        env_key,
        env_file,
        docker_env,
        _entry_points(record.get("entry_points"), where),
    )


def read_mapping(path: Path, fields: str) -> dict[str, Any]:
    """A project YAML file (MLproject, python_env.yaml) as a mapping; ProjectError naming
    the file when it is too large, not YAML, or not a mapping of ``fields``."""
    _check_size(path)
    return parse_mapping(_read_text(path), str(path), fields)


def _check_size(path: Path) -> None:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ProjectError(f"{path} is larger than {MAX_FILE_BYTES} bytes; is it the right file?")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ProjectError(f"{path} is not valid YAML: {_one_line(e)}") from None


def parse_mapping(text: str, where: str, fields: str, *, aliases: bool = True) -> dict[str, Any]:
    """YAML ``text`` of a project file as a mapping; ProjectError naming ``where`` when it
    is not YAML (or uses aliases, unless ``aliases``) or not a mapping of ``fields``."""
    import yaml

    from mltrail.store.formats import parse_yaml

    try:
        record = (yaml.safe_load(text) if aliases else parse_yaml(text)) or {}
    except yaml.YAMLError as e:
        raise ProjectError(f"{where} is not valid YAML: {_one_line(e)}") from None
    if not isinstance(record, dict):
        raise ProjectError(f"{where} must be a mapping with {fields}; got {type(record).__name__}.")
    return record


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _declared_environment(
    record: dict[str, Any], where: str
) -> tuple[str | None, str | None, dict[str, Any] | None]:
    """(environment key, the file it names, docker_env) as the MLproject declares them."""
    given = [k for k in ENV_KEYS if k in record]
    if len(given) > 1:
        raise ProjectError(f"{where} names {' and '.join(given)}: a project has one environment.")
    if given == [DOCKER_ENV]:
        docker = record[DOCKER_ENV]
        if (
            not isinstance(docker, dict)
            or not isinstance(docker.get("image"), str)
            or not docker["image"]
        ):
            raise ProjectError(
                f"{where}: docker_env needs an image, e.g. docker_env: {{image: python:3.11}}."
            )
        return DOCKER_ENV, None, docker
    if given:
        key = given[0]
        value = record[key]
        if not isinstance(value, str) or not value:
            raise ProjectError(f"{where}: {key} must be the name of a file in the project.")
        return key, value, None
    return None, None, None


def _environment_file(spec: ProjectSpec, root: Path, where: str) -> tuple[str, Path | None]:
    """(environment type, its file in ``root``): the declared one, else a default file."""
    if spec.env_key == DOCKER_ENV:
        return DOCKER_ENV, None
    if spec.env_key is not None and spec.env_file is not None:
        env_file = _inside(root, spec.env_file, f"{where}: {spec.env_key}")
        if not env_file.is_file():
            raise ProjectError(
                f"{where}: {spec.env_key} names {spec.env_file!r}, which is not a file in "
                "the project."
            )
        return spec.env_key, env_file
    for key, default in DEFAULT_ENV_FILES.items():
        if (root / default).is_file():
            return key, root / default
    return PYTHON_ENV, None


def _inside(root: Path, relative: str, where: str) -> Path:
    """``root / relative``, refused when it leaves the project (``..``, absolute, links)."""
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise ProjectError(f"{where}: {relative!r} is outside the project folder.")
    return path


def _entry_points(value: Any, where: str) -> dict[str, EntryPoint]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProjectError(f"{where}: entry_points must be a mapping of names to entry points.")
    found = {}
    for name, spec in value.items():
        label = f"{where}: entry point {name!r}"
        if not isinstance(spec, dict) or not isinstance(spec.get("command"), str):
            raise ProjectError(f"{label} needs a command (text).")
        parameters = _parameters(spec.get("parameters"), label)
        _check_template(spec["command"], parameters, label)
        found[str(name)] = EntryPoint(str(name), spec["command"], parameters)
    return found


def _parameters(value: Any, label: str) -> dict[str, Parameter]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProjectError(f"{label}: parameters must be a mapping of names to types.")
    found = {}
    for name, spec in value.items():
        kind, default = (spec, None) if isinstance(spec, str) else (None, None)
        if isinstance(spec, dict):
            kind, default = spec.get("type", "string"), spec.get("default")
        elif not isinstance(spec, str):
            raise ProjectError(f"{label}: parameter {name!r} must be a type or {{type, default}}.")
        if kind not in PARAMETER_TYPES:
            raise ProjectError(
                f"{label}: parameter {name!r} has type {kind!r}; use one of "
                f"{', '.join(PARAMETER_TYPES)}."
            )
        if default is not None and not isinstance(default, str | int | float | bool):
            raise ProjectError(f"{label}: parameter {name!r} has a default that is not a value.")
        found[str(name)] = Parameter(
            str(name), kind, _text(default) if default is not None else None
        )
    return found


def _check_template(command: str, parameters: dict[str, Parameter], label: str) -> None:
    """Every ``{name}`` of the command is a declared parameter (MLflow fails at run time)."""
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(command) if f is not None]
    except ValueError as e:
        raise ProjectError(
            f"{label}: the command is not a valid template ({e}); write {{{{ for a brace."
        ) from None
    for name in fields:
        if name not in parameters:
            raise ProjectError(
                f"{label}: the command uses {{{name}}}, which is not one of its parameters "
                f"({', '.join(parameters) or 'none'})."
            )
