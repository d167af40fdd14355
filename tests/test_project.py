"""The project itself: lint and types clean, docs that match the CLI, a wheel that works."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import click
import pytest

from mltrail.cli import build_cli
from tests.conftest import InstalledWheel, skip_unless_ci

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_ruff_is_clean() -> None:
    _run(sys.executable, "-m", "ruff", "check", ".")
    _run(sys.executable, "-m", "ruff", "format", "--check", ".")


def test_mypy_is_clean() -> None:
    _run(sys.executable, "-m", "mypy")


def test_the_theme_javascript_is_linted_and_formatted() -> None:
    """`npm run lint`: ESLint and Prettier over themes/*/static (vendor/ left out)."""
    npm = shutil.which("npm")
    if npm is None:
        skip_unless_ci("npm (Node.js 20+) is not installed: the theme's JavaScript is not linted")
    if not (ROOT / "node_modules" / ".bin" / "eslint").exists():
        skip_unless_ci("the JavaScript linters are not installed: run `npm ci`")
    _run(npm, "run", "--silent", "lint")


def _commands(group: click.Group, prefix: str = "mltrail") -> list[str]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
        else:
            found.append(path)
    return found


def test_every_cli_command_and_option_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    cli = build_cli()
    for path in _commands(cli):
        assert path in readme or _group_form(path, readme), f"README does not document `{path}`"
        command = _lookup(cli, path.split()[1:])
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt not in ("--help", "--store"):
                    assert opt in readme, f"README does not document `{path} {opt}`"


def _group_form(path: str, readme: str) -> bool:
    """`mltrail runs delete RUN_ID` / `restore RUN_ID` documents both in one row."""
    *group, name = path.split()
    return " ".join(group) in readme and re.search(rf"`{name}\b", readme) is not None


def _lookup(group: click.Group, names: list[str]) -> click.Command:
    command: click.Command = group
    for name in names:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "<!-- test-command -->" in readme and "<!-- main-command -->" in readme
    assert "test-command" in ci
    # The snapshots' pinned versions, in the tests and in CI's lint venv (which the test
    # command then reuses without reinstalling).
    test_command = readme.split("<!-- test-command -->", 1)[1].split("```", 2)[1]
    assert '".[test]" -c constraints.txt' in test_command
    assert '".[test]" -c constraints.txt' in ci


def test_format_doc_names_every_store_file() -> None:
    from mltrail.store import layout

    doc = (ROOT / "docs" / "FORMAT.md").read_text()
    for name in (
        layout.MARKER,
        layout.RUN_FILE,
        layout.PARAMS_FILE,
        layout.TAGS_FILE,
        layout.EXPERIMENT_FILE,
        layout.METRIC_SUFFIX,
        layout.POINTER_SUFFIX,
        layout.CACHE_DIR,
    ):
        assert name in doc, f"docs/FORMAT.md does not mention {name}"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_wheel_installs_and_runs_the_quickstart(
    tmp_path: Path, installed_wheel: InstalledWheel
) -> None:
    """The wheel, installed without deps in a fresh folder, used from there."""
    names = zipfile.ZipFile(installed_wheel.wheel).namelist()
    assert "mltrail/store/store.py" in names and "mltrail_generator/__init__.py" in names
    assert not any(n.startswith("tests/") for n in names)
    target, env = installed_wheel.target, dict(installed_wheel.env)
    work = tmp_path / "work"
    work.mkdir()
    code = "import mltrail, sys; assert mltrail.__file__.startswith(sys.argv[1]), mltrail.__file__"
    _run(sys.executable, "-c", code, str(target), cwd=work, env=env)
    _run(sys.executable, "-m", "mltrail", "init", "store", cwd=work, env=env)
    env["MLTRAIL_TRACKING_URI"] = str(work / "store")
    out = _run(sys.executable, "-m", "mltrail.examples.quickstart", cwd=work, env=env)
    assert "best run: alpha-0.3" in out
    listing = _run(sys.executable, "-m", "mltrail", "runs", "list", cwd=work, env=env)
    assert listing.count("FINISHED") == 3


def test_every_package_folder_is_packaged() -> None:
    """pyproject.toml lists packages by hand (for the generator/ mapping): none missing."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts).replace("generator", "mltrail_generator", 1)
        for top in ("mltrail", "generator")
        for p in (ROOT / top).rglob("__init__.py")
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    assert config["package-dir"]["mltrail_generator"] == "generator"
