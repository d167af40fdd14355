"""The site config, ``mltrail.yaml`` at the store root: a declared schema, validated in one pass.

Every problem of the file is collected (errors: wrong types, unreadable YAML, missing
files; warnings: unknown keys) and reported together, naming the file and the key.
``strict`` turns warnings into failures. Options the user passed on the command line
(``overrides``) replace the file's values; options they did not pass never do.

The file comes with the store, so it is hostile input: every path in it (``logo``,
``custom_dir``, a ``theme`` folder) must resolve inside the store, and ``nav`` links must
be relative paths or http(s) URLs (see :mod:`mltrail_generator.confine`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from mltrail.store import formats

from .confine import OutsideError, relative_folder, resolve_inside, web_link
from .errors import SiteBuildError
from .theme.loader import available_themes

log = logging.getLogger(__name__)

CONFIG_FILE = "mltrail.yaml"
#: The file types a logo may have (it is copied to ``assets/logo<suffix>``).
LOGO_SUFFIXES = (".avif", ".gif", ".ico", ".jpeg", ".jpg", ".png", ".svg", ".webp")


class ConfigError(SiteBuildError):
    """The site config has errors (or warnings, under ``--strict``); lists them all."""

    exit_code = 2


@dataclass(frozen=True)
class ConfigIssue:
    level: str  # "error" or "warning"
    file: str
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class NavLink:
    title: str
    url: str


@dataclass(frozen=True)
class ExperimentSettings:
    primary_metric: str | None = None
    lower_is_better: bool | None = None


@dataclass(frozen=True)
class ProjectSettings:
    #: Folders, relative to a project's folder, whose ``*.md`` files are its docs.
    docs: tuple[str, ...] = ("docs",)


@dataclass(frozen=True)
class RemoteArtifactSettings:
    """What run pages show of artifacts whose bytes are in a remote artifact store."""

    #: False: their URL and size only (no network, no credentials); True: a copy in the
    #: site (download and preview) of each one up to ``max_bytes``.
    copy: bool = False
    max_bytes: int = 1024 * 1024

    @property
    def copy_limit(self) -> int | None:
        """The largest remote artifact copied into the site (None: none is)."""
        return self.max_bytes if self.copy else None


@dataclass(frozen=True)
class SiteConfig:
    title: str = "mltrail"
    description: str = ""
    logo: Path | None = None
    base_url: str | None = None
    theme: str = "default"
    custom_dir: Path | None = None
    nav: tuple[NavLink, ...] = ()
    #: Settings per experiment name, as (name, settings) pairs sorted by name.
    experiments: tuple[tuple[str, ExperimentSettings], ...] = ()
    projects: ProjectSettings = ProjectSettings()
    remote_artifacts: RemoteArtifactSettings = RemoteArtifactSettings()
    #: The file the config came from (None: defaults only).
    source: Path | None = field(default=None, compare=False)

    def settings_for(self, experiment_name: str) -> ExperimentSettings:
        return dict(self.experiments).get(experiment_name, ExperimentSettings())

    def fingerprint(self) -> dict[str, Any]:
        """What pages depend on, as JSON-ready data (paths relative, for stable digests)."""
        return {
            "title": self.title,
            "description": self.description,
            "logo": self.logo.suffix if self.logo else None,
            "base_url": self.base_url,
            "nav": [[n.title, n.url] for n in self.nav],
            "experiments": [
                [name, s.primary_metric, s.lower_is_better] for name, s in self.experiments
            ],
            "projects": {"docs": list(self.projects.docs)},
            "remote_artifacts": self.remote_artifacts.copy_limit,
        }


_TOP_KEYS = (
    "title",
    "description",
    "logo",
    "base_url",
    "theme",
    "custom_dir",
    "nav",
    "experiments",
    "projects",
    "remote_artifacts",
)


class _Checker:
    """Collects the issues of one file while values are converted.

    ``base``: the folder its relative paths start from; ``root``: the folder they must
    stay inside.
    """

    def __init__(self, file: Path, base: Path, root: Path) -> None:
        self.file = file
        self.base = base
        self.root = root
        self.issues: list[ConfigIssue] = []

    def error(self, key: str, message: str) -> None:
        self.issues.append(ConfigIssue("error", str(self.file), key, message))

    def warning(self, key: str, message: str) -> None:
        self.issues.append(ConfigIssue("warning", str(self.file), key, message))

    def typed(self, key: str, value: Any, kind: type, what: str) -> Any:
        if isinstance(value, kind) and not (kind is not bool and isinstance(value, bool)):
            return value
        self.error(key, f"expected {what}, got {type(value).__name__} {value!r}")
        return None


def load_config(
    path: Path | None,
    *,
    overrides: Mapping[str, Any] | None = None,
    strict: bool = False,
    store: Path | None = None,
) -> SiteConfig:
    """The config in ``path`` (None or a missing default file: defaults), validated.

    Paths in the file must stay inside ``store`` when the file is in the store (else
    inside the file's own folder: a ``--config`` the user chose elsewhere).
    """
    data: dict[str, Any] = {}
    file = path or Path(CONFIG_FILE)
    base = path.parent if path else Path.cwd()
    checker = _Checker(file, base, _confinement(path, store) if path else base)
    if path is not None:
        data = _read_yaml(path)
    config = _convert(data, checker)
    config = replace(config, source=path)
    for key, value in (overrides or {}).items():
        if value is not None:
            config = _override(config, key, value, checker)
    report(checker.issues, strict)
    return config


def _confinement(path: Path, store: Path | None) -> Path:
    """The folder the paths of config ``path`` must stay inside (see :func:`load_config`)."""
    own = path.parent.resolve()
    if store is None or not path.absolute().is_relative_to(store.absolute()):
        return own
    try:
        resolve_inside(path, store)
    except OutsideError as e:
        raise ConfigError(
            f"{path}: the site config is a link to a file outside the store ({e}); "
            "keep mltrail.yaml a plain file in the store, or pass your own with --config."
        ) from e
    return store.resolve()


def report(issues: list[ConfigIssue], strict: bool) -> None:
    """Log warnings; raise one ConfigError listing every error (and warning if strict)."""
    fatal = [i for i in issues if i.level == "error" or strict]
    for issue in issues:
        if issue not in fatal:
            log.warning("%s", issue)
    if fatal:
        lines = "\n".join(f"  - {i}" for i in fatal)
        hint = " (warnings count as errors under --strict)" if strict else ""
        raise ConfigError(f"The site config has {len(fatal)} problem(s){hint}:\n{lines}")


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"Cannot read the site config {path}: {e.strerror}.") from e
    try:
        data = formats.parse_yaml(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({e}).") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the site config must be a mapping of keys (title, nav ...).")
    return data


def _convert(data: dict[str, Any], c: _Checker) -> SiteConfig:
    for key in sorted(set(map(str, data)) - set(_TOP_KEYS)):
        c.warning(key, f"unknown key (known keys: {', '.join(_TOP_KEYS)})")
    converters: dict[str, Callable[[Any], Any]] = {
        "title": lambda v: c.typed("title", v, str, "a string"),
        "description": lambda v: c.typed("description", v, str, "a string"),
        "logo": lambda v: _logo(c, v),
        "base_url": lambda v: _base_url(c, v),
        "theme": lambda v: _theme(c, v),
        "custom_dir": lambda v: _file(c, "custom_dir", v, want_dir=True),
        "nav": lambda v: _nav(c, v),
        "experiments": lambda v: _experiments(c, v),
        "projects": lambda v: _projects(c, v),
        "remote_artifacts": lambda v: _remote_artifacts(c, v),
    }
    values = {}
    for key, convert in converters.items():
        if data.get(key) is not None:
            value = convert(data[key])
            if value is not None:
                values[key] = value
    return SiteConfig(**values)


def _override(config: SiteConfig, key: str, value: Any, c: _Checker) -> SiteConfig:
    if key == "base_url":
        value = _base_url(c, value, key="--base-url")
    return replace(config, **{key: value}) if value is not None else config


def _file(c: _Checker, key: str, value: Any, *, want_dir: bool) -> Path | None:
    """The file or folder ``value`` names, resolved; an error if missing or outside the root."""
    text = c.typed(key, value, str, "a path")
    if text is None:
        return None
    if "\0" in text:
        c.error(key, f"{text!r} holds a NUL character, which no path can")
        return None
    kind = "folder" if want_dir else "file"
    try:
        path = resolve_inside(c.base / Path(text).expanduser(), c.root)
    except OutsideError as e:
        c.error(key, f"must be a {kind} inside {c.root}, but {e}")
        return None
    if not (path.is_dir() if want_dir else path.is_file()):
        c.error(key, f"no such {kind}: {path}")
        return None
    return path


def _logo(c: _Checker, value: Any) -> Path | None:
    path = _file(c, "logo", value, want_dir=False)
    if path is not None and path.suffix.lower() not in LOGO_SUFFIXES:
        c.error("logo", f"{path.name!r} is not an image: use one of {', '.join(LOGO_SUFFIXES)}")
        return None
    return path


def _theme(c: _Checker, value: Any) -> str | None:
    """A built-in theme's name as is; else a theme folder inside the root, as a full path."""

    text = c.typed("theme", value, str, "a theme name or folder")
    if text is None or text in available_themes():
        return text
    path = _file(c, "theme", text, want_dir=True)
    if path == c.root:  # its parents are looked for beside it: keep them inside too
        c.error("theme", f"must be a folder inside {c.root}, not that folder itself")
        return None
    return str(path) if path is not None else None


def _base_url(c: _Checker, value: Any, key: str = "base_url") -> str | None:
    text = c.typed(key, value, str, "a URL")
    if text is None:
        return None
    link = web_link(text)
    if link is None or not link.startswith(("http://", "https://")):
        c.error(
            key, f"expected an http(s) URL such as https://you.github.io/project/, got {text!r}"
        )
        return None
    return link if link.endswith("/") else link + "/"


def _nav(c: _Checker, value: Any) -> tuple[NavLink, ...] | None:
    items = c.typed("nav", value, list, "a list of {title, url}")
    if items is None:
        return None
    links = []
    for i, item in enumerate(items):
        key = f"nav[{i}]"
        if not _entry(c, key, item, ("title", "url")):
            continue
        title = c.typed(f"{key}.title", item.get("title"), str, "a string")
        url = c.typed(f"{key}.url", item.get("url"), str, "a string")
        if url is not None:
            url = _nav_url(c, f"{key}.url", url)
        if title is not None and url is not None:
            links.append(NavLink(title, url))
    return tuple(links)


def _entry(c: _Checker, key: str, item: Any, known: tuple[str, ...]) -> bool:
    """Whether ``item`` is a mapping (an error if not); its unknown keys are warnings."""
    names = ", ".join(known)
    if not isinstance(item, dict):
        c.error(key, f"expected a mapping {{{names}}}, got {item!r}")
        return False
    for extra in sorted(set(map(str, item)) - set(known)):
        c.warning(f"{key}.{extra}", f"unknown key (known keys: {names})")
    return True


def _nav_url(c: _Checker, key: str, url: str) -> str | None:
    link = web_link(url)
    if link is None:
        shown = url if len(url) <= 60 else url[:57] + "..."
        c.error(
            key,
            "use a path relative to the site root (docs/index.html) or an http(s):// URL, "
            f"not {shown!r} (no other scheme, no / or // at the start, no backslash, no "
            "control character, no space at either end)",
        )
    return link


def _experiments(c: _Checker, value: Any) -> tuple[tuple[str, ExperimentSettings], ...] | None:
    table = c.typed("experiments", value, dict, "a mapping of experiment names")
    if table is None:
        return None
    out = []
    for name, item in sorted(table.items(), key=lambda kv: str(kv[0])):
        key = f"experiments.{name}"
        if not _entry(c, key, item, ("primary_metric", "lower_is_better")):
            continue
        metric = item.get("primary_metric")
        lower = item.get("lower_is_better")
        if metric is not None:
            metric = c.typed(f"{key}.primary_metric", metric, str, "a metric key")
        if lower is not None:
            lower = c.typed(f"{key}.lower_is_better", lower, bool, "true or false")
        out.append((str(name), ExperimentSettings(metric, lower)))
    return tuple(out)


def _projects(c: _Checker, value: Any) -> ProjectSettings | None:
    if not _entry(c, "projects", value, ("docs",)):
        return None
    folders = value.get("docs")
    if folders is None:
        return ProjectSettings()
    if c.typed("projects.docs", folders, list, "a list of folders") is None:
        return None
    found = []
    for i, folder in enumerate(folders):
        key = f"projects.docs[{i}]"
        text = c.typed(key, folder, str, "a folder")
        normal = relative_folder(text) if text is not None else None
        if text is not None and normal is None:
            c.error(
                key,
                f"{text!r} must be a folder relative to a project's folder, such as docs or "
                "docs/guide (no /, .. or control character)",
            )
        if normal is not None and normal not in found:
            found.append(normal)
    return ProjectSettings(tuple(found))


def _remote_artifacts(c: _Checker, value: Any) -> RemoteArtifactSettings | None:
    if not _entry(c, "remote_artifacts", value, ("copy", "max_bytes")):
        return None
    default = RemoteArtifactSettings()
    copy = c.typed("remote_artifacts.copy", value.get("copy", default.copy), bool, "true or false")
    limit = c.typed(
        "remote_artifacts.max_bytes", value.get("max_bytes", default.max_bytes), int, "bytes"
    )
    if isinstance(limit, int) and limit < 0:
        c.error("remote_artifacts.max_bytes", f"expected a number of bytes >= 0, got {limit}")
        return None
    if copy is None or limit is None:
        return None
    return RemoteArtifactSettings(copy, limit)
