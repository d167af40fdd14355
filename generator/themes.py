"""Themes: a search path of template and static folders, and the Jinja environment over it.

Lookup order: the user's ``custom_dir`` → the chosen theme → the parents named by
``extends:`` in each ``theme.yaml`` → the built-in ``default``. A prefixed loader
(``default:run.html``) lets an override extend the very template it replaces.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
import yaml

from generator.config import SiteBuildError
from mltrail.store import formats

THEME_FILE = "theme.yaml"
TEMPLATES_DIR = "templates"
STATIC_DIR = "static"
DEFAULT_THEME = "default"
_THEME_KEYS = ("name", "extends")


class ThemeError(SiteBuildError):
    exit_code = 2


@dataclass(frozen=True)
class ThemeDir:
    """One folder of the search path: a theme, or the user's ``custom_dir``."""

    name: str
    path: Path

    @property
    def templates(self) -> Path:
        return self.path / TEMPLATES_DIR

    @property
    def static(self) -> Path:
        return self.path / STATIC_DIR


@dataclass(frozen=True)
class Theme:
    name: str
    #: Highest priority first: custom_dir, the theme, its parents, default.
    search_path: tuple[ThemeDir, ...]


def builtin_themes_dir() -> Path:
    """``themes/`` of a source checkout, or ``mltrail/_themes`` of an installed wheel."""
    import mltrail

    packaged = Path(mltrail.__file__).parent / "_themes"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "themes"


def available_themes() -> list[str]:
    base = builtin_themes_dir()
    return sorted(p.name for p in base.iterdir() if (p / THEME_FILE).is_file())


def load_theme(spec: str, custom_dir: Path | None = None) -> Theme:
    """The theme named ``spec`` (built-in) or in the folder ``spec``, with its search path."""
    chain: list[ThemeDir] = []
    if custom_dir is not None:
        chain.append(ThemeDir("custom", custom_dir))
    first = _locate(spec)
    name: str | None = first.name
    seen: set[str] = set()
    folder: Path | None = first
    while folder is not None and name is not None:
        if name in seen:
            raise ThemeError(f"{folder / THEME_FILE}: themes extend each other in a loop ({name}).")
        seen.add(name)
        parent = _read_theme_file(folder)
        chain.append(ThemeDir(name, folder))
        if name == DEFAULT_THEME:
            break
        name = parent or DEFAULT_THEME
        folder = _locate(name, parent_of=folder)
    return Theme(first.name, tuple(chain))


def _locate(spec: str, parent_of: Path | None = None) -> Path:
    candidate = Path(spec).expanduser()
    if parent_of is not None:  # a parent: built-in first, then a sibling folder
        sibling = parent_of.parent / spec
        builtin = builtin_themes_dir() / spec
        folder = builtin if (builtin / THEME_FILE).is_file() else sibling
    elif os.sep in spec or "/" in spec or (candidate.is_dir() and not _is_builtin_name(spec)):
        folder = candidate.resolve()
    else:
        folder = builtin_themes_dir() / spec
    if not (folder / THEME_FILE).is_file():
        where = f" (extended by {parent_of / THEME_FILE})" if parent_of else ""
        raise ThemeError(
            f"No theme {spec!r}{where}: give a built-in theme ({', '.join(available_themes())}) "
            f"or a folder holding {THEME_FILE}, templates/ and static/."
        )
    return folder


def _is_builtin_name(spec: str) -> bool:
    return (builtin_themes_dir() / spec / THEME_FILE).is_file()


def _read_theme_file(folder: Path) -> str | None:
    """Validate ``theme.yaml``; return the name of the theme it extends (or None)."""
    path = folder / THEME_FILE
    try:
        data = formats.parse_yaml(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ThemeError(f"Cannot read {path}: {e}") from e
    if not isinstance(data, dict):
        raise ThemeError(f"{path}: expected a mapping with keys {', '.join(_THEME_KEYS)}.")
    problems = [f"unknown key {k!r}" for k in sorted(map(str, data)) if k not in _THEME_KEYS]
    parent = data.get("extends")
    if parent is not None and not isinstance(parent, str):
        problems.append(f"extends: expected a theme name, got {parent!r}")
    if problems:
        raise ThemeError(f"{path}: {'; '.join(problems)} (keys: {', '.join(_THEME_KEYS)}).")
    return parent


def make_environment(theme: Theme) -> jinja2.Environment:
    """Autoescaping, strict (a missing key fails the page) environment over the search path."""
    dirs = [str(d.templates) for d in theme.search_path if d.templates.is_dir()]
    prefixed = {
        d.name: jinja2.FileSystemLoader(str(d.templates))
        for d in theme.search_path
        if d.name != "custom" and d.templates.is_dir()
    }
    loader = jinja2.ChoiceLoader(
        [jinja2.FileSystemLoader(dirs), jinja2.PrefixLoader(prefixed, delimiter=":")]
    )
    return jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def static_files(theme: Theme) -> dict[str, Path]:
    """Relative POSIX path → source file of every static file (earlier folders win)."""
    files: dict[str, Path] = {}
    for folder in reversed(theme.search_path):
        for rel, path in _walk(folder.static):
            files[rel] = path
    return dict(sorted(files.items()))


def _walk(base: Path) -> Iterator[tuple[str, Path]]:
    if not base.is_dir():
        return
    for root, dirs, names in os.walk(base):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.startswith("."):
                path = Path(root) / name
                yield path.relative_to(base).as_posix(), path


def theme_digest(theme: Theme) -> str:
    """A digest of every template and static file of the search path (by content)."""
    h = hashlib.sha256()
    for folder in theme.search_path:
        h.update(f"\0dir {folder.name}\0".encode())
        for sub in (folder.templates, folder.static):
            for rel, path in _walk(sub):
                h.update(f"{sub.name}/{rel}\0".encode())
                h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def page_assets(static: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Stylesheets and scripts every page links: top-level .css/.js, mltrail.js first."""
    top = [rel for rel in static if "/" not in rel]
    css = tuple(sorted(r for r in top if r.endswith(".css")))
    js = sorted(r for r in top if r.endswith(".js"))
    js.sort(key=lambda r: r != "mltrail.js")
    return css, tuple(js)
