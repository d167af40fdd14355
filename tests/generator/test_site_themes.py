"""Themes: the search path, `default:` prefixes, per-item templates, theme.yaml checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltrail_generator import build_site
from mltrail_generator.config import SiteBuildError
from mltrail_generator.theme.loader import ThemeError, load_theme


def _theme(folder: Path, theme_yaml: str, templates: dict[str, str]) -> Path:
    (folder / "templates").mkdir(parents=True)
    (folder / "theme.yaml").write_text(theme_yaml)
    for name, text in templates.items():
        (folder / "templates" / name).write_text(text)
    return folder


def test_search_path_order(tmp_path: Path) -> None:
    parent = _theme(tmp_path / "parent", "name: parent\n", {})
    child = _theme(tmp_path / "child", "name: child\nextends: parent\n", {})
    custom = tmp_path / "custom"
    custom.mkdir()
    theme = load_theme(str(child), custom)
    assert [d.name for d in theme.search_path] == ["custom", "child", "parent", "default"]
    assert theme.search_path[2].path == parent


def test_theme_yaml_problems_are_errors(tmp_path: Path) -> None:
    bad = _theme(tmp_path / "bad", "name: bad\ncolour: red\n", {})
    with pytest.raises(ThemeError, match="unknown key 'colour'"):
        load_theme(str(bad))
    loop = _theme(tmp_path / "loop", "extends: loop\n", {})
    with pytest.raises(ThemeError, match="loop"):
        load_theme(str(loop))
    with pytest.raises(ThemeError, match=r"No theme 'nosuch'.*built-in theme \(default\)"):
        load_theme("nosuch")


def test_a_theme_extends_the_template_it_replaces(store_copy: Path, tmp_path: Path) -> None:
    theme = _theme(
        tmp_path / "brand",
        "name: brand\n",
        {
            "run.html": '{% extends "default:run.html" %}'
            "{% block footer %}Brand footer{% endblock %}",
            "experiment-diabetes-regression.html": '{% extends "experiment.html" %}'
            "{% block footer %}Only for diabetes{% endblock %}",
        },
    )
    (theme / "static").mkdir()
    (theme / "static" / "brand.css").write_text("body { color: red }")
    out = tmp_path / "site"
    build_site(store_copy, out, theme=str(theme))
    run_page = next((out / "runs").glob("*/index.html")).read_text()
    assert "Brand footer" in run_page and "Run id" in run_page
    assert '<link rel="stylesheet" href="../../assets/brand.css">' in run_page
    pages = [p.read_text() for p in (out / "experiments").glob("*/index.html")]
    assert sum("Only for diabetes" in p for p in pages) == 1
    assert (out / "assets" / "brand.css").is_file() and (out / "assets" / "mltrail.js").is_file()


def test_per_run_template_and_custom_dir(store_copy: Path, tmp_path: Path) -> None:
    run_id = next((store_copy / "runs").glob("*/*/run.yaml")).parent.name
    custom = store_copy / "over"  # inside the store: config paths may not leave it
    (custom / "templates").mkdir(parents=True)
    (custom / "templates" / f"run-{run_id}.html").write_text(
        '{% extends "run.html" %}{% block footer %}Special run{% endblock %}'
    )
    (store_copy / "mltrail.yaml").write_text("custom_dir: over\n")
    out = tmp_path / "site"
    build_site(store_copy, out)
    assert "Special run" in (out / "runs" / run_id / "index.html").read_text()
    others = [p for p in (out / "runs").glob("*/index.html") if p.parent.name != run_id]
    assert not any("Special run" in p.read_text() for p in others)


def test_a_broken_template_fails_the_build(store_copy: Path, tmp_path: Path) -> None:
    theme = _theme(tmp_path / "broken", "name: broken\n", {"run.html": "{{ run.no_such_field }}"})
    with pytest.raises(SiteBuildError, match=r"Cannot render runs/.*/index.html.*no_such_field"):
        build_site(store_copy, tmp_path / "site", theme=str(theme))
