"""Page contexts are a contract (STYLE.md §9): every field documented, and each page's
templates use exactly its context's keys: none undocumented, none documented and unused."""

from __future__ import annotations

import dataclasses
import typing

import jinja2
import jinja2.meta
import jinja2.nodes
import pytest

from mltrail_generator.pages import KINDS
from mltrail_generator.pages.base import NavItem, PageContext, PageKind, SiteInfo
from mltrail_generator.pages.run import ArtifactView
from mltrail_generator.pages.snippets import Snippet
from mltrail_generator.theme.loader import load_theme
from mltrail_generator.theme.render import environment

#: Names a partial receives from its includer (`{% with %}`) besides the page's keys.
PARTIAL_PARAMS = {
    "partials/run_rows.html": {"rows", "caption", "show_experiment", "metric"},
    "partials/project_doc.html": {"d"},
}
THEME = load_theme("default")
TEMPLATES = THEME.search_path[0].templates


def _records() -> set[type]:
    """Every record a template can see: the page contexts and what their fields hold."""
    found: set[type] = set()
    todo: list[object] = [PageContext, *(k.context for k in KINDS)]
    while todo:
        hint = todo.pop()
        if dataclasses.is_dataclass(hint) and isinstance(hint, type):
            if hint not in found:
                found.add(hint)
                todo += typing.get_type_hints(hint).values()
        else:
            todo += typing.get_args(hint)
    return found


def test_every_context_field_is_documented() -> None:
    records = _records()
    assert {PageContext, SiteInfo, NavItem, ArtifactView, Snippet} <= records
    for record in records:
        for f in dataclasses.fields(record):
            assert f.metadata.get("doc"), f"{record.__name__}.{f.name} has no doc"


def _keys(kind: str) -> set[str]:
    page = next(k for k in KINDS if k.name == kind)
    return {f.name for f in dataclasses.fields(page.context)}


def _imported(ast: jinja2.nodes.Template) -> set[str]:
    """Macro names a template imports (`{% from ... import x %}`), visible in its blocks."""
    names = set()
    for node in ast.find_all(jinja2.nodes.FromImport):
        names.update(n if isinstance(n, str) else n[1] for n in node.names)
    return names


def _used(name: str, env: jinja2.Environment, seen: set[str]) -> set[str]:
    """The context names ``name`` reads, with the templates it extends and includes (they
    see the page's context; imported macros do not, so they are not followed)."""
    seen.add(name)
    ast = env.parse((TEMPLATES / name).read_text())
    used = jinja2.meta.find_undeclared_variables(ast) - _imported(ast)
    used -= PARTIAL_PARAMS.get(name, set())
    followed = [n for n in ast.find_all(jinja2.nodes.Extends | jinja2.nodes.Include)]
    for node in followed:
        target = node.template
        if isinstance(target, jinja2.nodes.Const) and target.value not in seen:
            used |= _used(target.value, env, seen)
    return used


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_each_page_uses_exactly_its_documented_keys(kind: PageKind[object]) -> None:
    used = _used(kind.template, environment(THEME), set())
    documented = _keys(kind.name)
    assert used <= documented, f"{kind.template} uses undocumented {sorted(used - documented)}"
    assert documented <= used, f"{kind.template} never uses {sorted(documented - used)}"


def test_every_template_belongs_to_a_page() -> None:
    """A template no page renders, includes or imports would escape the contract."""
    env = environment(THEME)
    reached: set[str] = set()
    for kind in KINDS:
        _used(kind.template, env, reached)
    for name in list(reached):
        ast = env.parse((TEMPLATES / name).read_text())
        reached.update(
            node.template.value
            for node in ast.find_all(jinja2.nodes.FromImport | jinja2.nodes.Import)
            if isinstance(node.template, jinja2.nodes.Const)
        )
    names = {p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")}
    assert names == reached


def test_missing_keys_fail_rendering() -> None:
    env = environment(THEME)
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ nope }}").render()
