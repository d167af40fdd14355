"""Themes: a search path of template and static folders, and the Jinja environment over it.

Lookup order: the user's ``custom_dir`` → the chosen theme → the parents named by
``extends:`` in each ``theme.yaml`` → the built-in ``default``. A prefixed loader
(``default:run.html``) lets an override extend the very template it replaces.

A theme can come with a store, so it is hostile input: templates render in Jinja's
sandbox, a template or static file must resolve inside its own theme folder (no link
out), and a parent is a plain name (a built-in theme or a sibling folder).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
import yaml
from jinja2.loaders import split_template_path
from jinja2.runtime import Context

from mltrail.store import formats

from ..confine import OutsideError, resolve_inside
from ..errors import SiteBuildError

THEME_FILE = "theme.yaml"
TEMPLATES_DIR = "templates"
STATIC_DIR = "static"
DEFAULT_THEME = "default"
_THEME_KEYS = ("name", "extends")
#: What ``extends:`` may name: a folder name, never a path.
_THEME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


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
    return Path(__file__).resolve().parents[2] / "themes"


def available_themes() -> list[str]:
    base = builtin_themes_dir()
    return sorted(p.name for p in base.iterdir() if (p / THEME_FILE).is_file())


def load_theme(spec: str, custom_dir: Path | None = None) -> Theme:
    """The theme named ``spec`` (built-in) or in the folder ``spec``, with its search path."""
    chain: list[ThemeDir] = []
    if custom_dir is not None:
        chain.append(_checked(ThemeDir("custom", custom_dir.resolve())))
    first = _locate(spec)
    name: str | None = first.name
    seen: set[str] = set()
    folder: Path | None = first
    while folder is not None and name is not None:
        if name in seen:
            raise ThemeError(f"{folder / THEME_FILE}: themes extend each other in a loop ({name}).")
        seen.add(name)
        parent = _read_theme_file(folder)
        chain.append(_checked(ThemeDir(name, folder.resolve())))
        if name == DEFAULT_THEME:
            break
        name = parent or DEFAULT_THEME
        folder = _locate(name, parent_of=folder)
    return Theme(first.name, tuple(chain))


def _locate(spec: str, parent_of: Path | None = None) -> Path:
    candidate = Path(spec).expanduser()
    if parent_of is not None:  # a parent: built-in first, then a sibling folder
        builtin = builtin_themes_dir() / spec
        folder = builtin if (builtin / THEME_FILE).is_file() else _sibling(spec, parent_of)
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


def _confined(path: Path, base: Path, before: str, after: str) -> Path:
    """``path`` resolved inside ``base``; else a ThemeError: ``before``, where the path
    leads, ``after``."""
    try:
        return resolve_inside(path, base)
    except OutsideError as e:
        raise ThemeError(f"{before}{e}{after}") from e


def _sibling(spec: str, theme: Path) -> Path:
    """The folder next to ``theme`` named ``spec`` (a link to elsewhere is refused)."""
    where = f"{theme / THEME_FILE}: the parent theme {spec!r} must be a theme folder beside "
    return _confined(theme.parent / spec, theme.parent, where + "this one, but ", ".")


def _checked(folder: ThemeDir) -> ThemeDir:
    """``folder``, after checking its templates/ and static/ are not links out of it."""
    for sub in (folder.templates, folder.static):
        _confined(sub, folder.path, f"A theme's {sub.name}/ must be its own folder, but ", ".")
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
    if parent is not None and not (isinstance(parent, str) and _plain_name(parent)):
        problems.append(
            f"extends: expected a theme name (letters, digits, '.', '_', '-': a built-in "
            f"theme or a theme folder beside this one), got {parent!r}"
        )
    if problems:
        raise ThemeError(f"{path}: {'; '.join(problems)} (keys: {', '.join(_THEME_KEYS)}).")
    return parent


def _plain_name(name: str) -> bool:
    return bool(_THEME_NAME.fullmatch(name)) and ".." not in name


class _ConfinedLoader(jinja2.FileSystemLoader):
    """Templates of some folders; one that is a link out of its folder is refused.

    Template names are already kept inside (Jinja refuses ``..`` in them); this adds the
    check of where the file really is.
    """

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)
        for folder in self.searchpath:
            path = Path(folder, *pieces)
            if path.is_file():
                explain = "; a theme may use only its own files."
                _confined(path, Path(folder), f"Template {template!r}: ", explain)
                break
        return super().get_source(environment, template)


class _Sandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """Jinja's sandbox (no internals, no mutation of the context), and no ``*`` or ``**``
    that would make a huge string, list or number out of a few characters."""

    intercepted_binops = frozenset(("*", "**"))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and _big_power(left, right):
            raise jinja2.sandbox.SecurityError(f"{left!r} ** {right!r} is too big a number")
        if operator == "*" and (_too_long(left, right) or _too_long(right, left)):
            raise jinja2.sandbox.SecurityError(f"a sequence repeated {MAX_REPEAT} times or more")
        return super().call_binop(context, operator, left, right)


#: The longest string or sequence a template may make with ``*``.
MAX_REPEAT = 1_000_000


def _big_power(base: Any, exponent: Any) -> bool:
    ints = isinstance(base, int) and isinstance(exponent, int)
    return ints and abs(base) > 1 and abs(exponent) > 256


def _too_long(seq: Any, times: Any) -> bool:
    sized = isinstance(seq, (str, bytes, list, tuple))
    return sized and isinstance(times, int) and len(seq) * times >= MAX_REPEAT


def make_environment(theme: Theme) -> jinja2.Environment:
    """Autoescaping, strict (a missing key fails the page), sandboxed environment over the
    search path: a template can read the page's context, never call into Python's
    internals or read files outside the templates/ folders of the search path."""
    dirs = [str(d.templates) for d in theme.search_path if d.templates.is_dir()]
    prefixed: dict[str, jinja2.BaseLoader] = {
        d.name: _ConfinedLoader(str(d.templates))
        for d in theme.search_path
        if d.name != "custom" and d.templates.is_dir()
    }
    loader = jinja2.ChoiceLoader(
        [_ConfinedLoader(dirs), jinja2.PrefixLoader(prefixed, delimiter=":")]
    )
    return _Sandbox(
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
    """Relative path and path of each plain file under ``base`` (dot names skipped).

    A file that is a link out of ``base``, or not a regular file, is a ThemeError.
    """
    if not base.is_dir():
        return
    for root, dirs, names in os.walk(base):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.startswith("."):
                path = Path(root) / name
                _check_plain(path, base)
                yield path.relative_to(base).as_posix(), path


def _check_plain(path: Path, base: Path) -> None:
    real = _confined(path, base, "", ": a theme may hold only its own files.")
    if not real.is_file():
        raise ThemeError(
            f"{path} is not a regular file (a broken link, a pipe or a device); "
            "a theme may hold only plain files."
        )


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
