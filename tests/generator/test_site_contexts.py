"""Page contexts are documented (STYLE.md §9): every field, and every name a template uses."""

from __future__ import annotations

import dataclasses
import inspect

import jinja2
import jinja2.meta
import jinja2.nodes

from mltrail_generator import contexts
from mltrail_generator.build import environment
from mltrail_generator.themes import load_theme

#: Names a partial receives from its includer (`{% with %}`) besides the page's keys.
PARTIAL_PARAMS = {
    "partials/run_rows.html": {"rows", "caption", "show_experiment", "metric"},
}
PAGE_TEMPLATES = {
    "index.html": "home",
    "experiment.html": "experiment",
    "run.html": "run",
    "compare.html": "compare",
    "404.html": "404",
}


def _records() -> list[type]:
    return [
        obj
        for _, obj in inspect.getmembers(contexts, inspect.isclass)
        if dataclasses.is_dataclass(obj) and obj.__module__ == contexts.__name__
    ]


def test_every_context_field_is_documented() -> None:
    for record in _records():
        for f in dataclasses.fields(record):
            assert f.metadata.get("doc"), f"{record.__name__}.{f.name} has no doc"


def _keys(kind: str) -> set[str]:
    return {f.name for f in dataclasses.fields(contexts.PAGE_TYPES[kind])}


def test_templates_use_only_documented_keys() -> None:
    theme = load_theme("default")
    env = environment(theme)
    base_keys = {f.name for f in dataclasses.fields(contexts.PageContext)}
    all_keys = set().union(*(_keys(k) for k in contexts.PAGE_TYPES))
    folder = theme.search_path[0].templates
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.html"))
    assert set(PAGE_TEMPLATES) <= set(names)
    for name in names:
        ast = env.parse((folder / name).read_text())
        used = jinja2.meta.find_undeclared_variables(ast) - _imported(ast)
        if name in PAGE_TEMPLATES:
            allowed = _keys(PAGE_TEMPLATES[name])
        elif name == "base.html":
            allowed = base_keys
        else:
            allowed = all_keys | PARTIAL_PARAMS.get(name, set())
        assert used <= allowed, f"{name} uses undocumented {sorted(used - allowed)}"


def _imported(ast: jinja2.nodes.Template) -> set[str]:
    """Macro names a template imports (`{% from ... import x %}`), visible in its blocks."""
    names = set()
    for node in ast.find_all(jinja2.nodes.FromImport):
        names.update(n if isinstance(n, str) else n[1] for n in node.names)
    return names


def test_missing_keys_fail_rendering() -> None:
    env = environment(load_theme("default"))
    try:
        env.from_string("{{ nope }}").render()
    except jinja2.UndefinedError:
        return
    raise AssertionError("a missing key rendered silently")
