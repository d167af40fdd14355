"""`mltrail pages init` (the GitHub Pages workflow) and the site-size warning of `mltrail build`.

The workflow's own build command is run on the sample store in a project repository
whose origin is on GitHub; the site it writes is served under the project's sub-path
(`/churn/`, as GitHub Pages serves a project site) and opened in Chromium.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from mltrail.cli import build_cli
from mltrail.github_pages import github_base_url, repository_of
from mltrail.store import init_store
from tests.conftest import make_repo, run_git
from tests.site.browse import CURVES, SAMPLE_STORE, Pages, draw_charts, serve

WORKFLOW = Path(".github", "workflows", "mltrail-pages.yml")


@pytest.fixture
def project(tmp_path: Path, clean_env: None) -> Path:
    """A project repository on GitHub (origin acme/churn) holding the sample store at runs/."""
    repo = make_repo(tmp_path / "churn")
    shutil.copytree(SAMPLE_STORE, repo / "runs", ignore=shutil.ignore_patterns(".cache"))
    run_git(repo, "add", "runs")
    run_git(repo, "commit", "-q", "-m", "Add the store")
    run_git(repo, "remote", "add", "origin", "https://github.com/acme/churn.git")
    return repo


def pages_init(repo: Path, *args: str) -> Any:
    return CliRunner().invoke(build_cli(), ["pages", "init", "--store", str(repo / "runs"), *args])


def test_the_workflow_builds_on_push_and_deploys_with_githubs_actions(project: Path) -> None:
    result = pages_init(project)
    assert result.exit_code == 0, result.output
    assert "https://acme.github.io/churn/" in result.output
    doc = yaml.safe_load((project / WORKFLOW).read_text())
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["push"]["branches"] == ["main"] and "workflow_dispatch" in triggers
    assert doc["permissions"] == {"contents": "read"}
    assert doc["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    assert set(doc["jobs"]) == {"build", "deploy"}
    build, deploy = doc["jobs"]["build"], doc["jobs"]["deploy"]
    uses = [step.get("uses", "").split("@")[0] for step in build["steps"]]
    assert uses[:2] == ["actions/checkout", "actions/setup-python"]
    assert uses[-1] == "actions/upload-pages-artifact"
    assert build["steps"][-1]["with"]["path"] == "${{ runner.temp }}/site"
    runs = [step["run"] for step in build["steps"] if "run" in step]
    assert runs[0] == f"python -m pip install mltrail=={importlib.metadata.version('mltrail')}"
    assert runs[1].startswith("mltrail build runs ")
    assert runs[1].endswith("--base-url https://acme.github.io/churn/")
    assert deploy["needs"] == "build"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["steps"] == [{"id": "deployment", "uses": "actions/deploy-pages@v5"}]


def test_refuses_to_overwrite_without_force(project: Path) -> None:
    assert pages_init(project).exit_code == 0
    path = project / WORKFLOW
    path.write_text("# mine\n")
    again = pages_init(project)
    assert again.exit_code == 1 and "--force" in again.output
    assert path.read_text() == "# mine\n"
    forced = pages_init(project, "--force", "--pip-install", "mltrail @ git+https://x/y.git")
    assert forced.exit_code == 0
    assert "python -m pip install 'mltrail @ git+https://x/y.git'" in path.read_text()


def test_a_remote_off_github_needs_the_repository_named(project: Path) -> None:
    run_git(project, "remote", "set-url", "origin", "https://gitlab.example.com/acme/churn.git")
    result = pages_init(project)
    assert result.exit_code == 2 and "--repository OWNER/NAME" in result.output
    assert not (project / WORKFLOW).exists()
    assert pages_init(project, "--repository", "acme/churn").exit_code == 0
    assert "--base-url https://acme.github.io/churn/" in (project / WORKFLOW).read_text()
    bad = pages_init(project, "--force", "--base-url", "https://x/\nname: injected")
    assert bad.exit_code == 2 and "is not a URL" in bad.output
    expression = pages_init(
        project, "--force", "--repository", "acme/churn", "--pip-install", "x${{ secrets.TOKEN }}"
    )
    assert expression.exit_code == 2 and "as an expression" in expression.output


@pytest.mark.parametrize(
    ("url", "repository"),
    [
        ("https://github.com/acme/churn.git", "acme/churn"),
        ("https://github.com/acme/churn", "acme/churn"),
        ("git@github.com:acme/churn.git", "acme/churn"),
        ("ssh://git@github.com/acme/ml.models.git", "acme/ml.models"),
        ("https://token@github.com/acme/churn.git", "acme/churn"),
        ("https://gitlab.com/acme/churn.git", None),
        ("https://github.com.evil.example/acme/churn.git", None),
        ("/srv/git/churn.git", None),
        ("https://github.com/acme/..", None),
    ],
)
def test_repository_of_a_remote_url(url: str, repository: str | None) -> None:
    assert repository_of(url) == repository


def test_base_url_of_project_and_user_sites() -> None:
    assert github_base_url("Acme/churn") == "https://acme.github.io/churn/"
    assert github_base_url("acme/acme.github.io") == "https://acme.github.io/"


def test_the_workflows_build_command_makes_a_working_site_under_its_sub_path(
    project: Path, tmp_path: Path, pages: Pages
) -> None:
    assert pages_init(project).exit_code == 0
    doc = yaml.safe_load((project / WORKFLOW).read_text())
    command = next(
        s["run"] for s in doc["jobs"]["build"]["steps"] if "mltrail build" in s.get("run", "")
    )
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    bin_dir = Path(sys.executable).parent  # where this venv's `mltrail` script is
    env = {**os.environ, "RUNNER_TEMP": str(runner_temp), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    proc = subprocess.run(
        ["bash", "-c", command], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert "MB." in proc.stdout and "Warning" not in proc.stderr
    served = tmp_path / "pages"
    served.mkdir()
    (served / "churn").symlink_to(runner_temp / "site")  # acme.github.io/churn/
    httpd, thread = serve(served)
    try:
        base = f"http://127.0.0.1:{httpd.server_address[1]}/churn/"
        page = pages.open(base, "index.html")
        link = page.get_by_role("link", name=CURVES, exact=True).first
        link.evaluate("a => a.click()")
        page.wait_for_url("**/experiments/*/index.html", wait_until="load")
        assert page.get_attribute("body", "data-page") == "experiment"
        assert draw_charts(page, "#experiment-charts .mt-chart") > 0
        canonical = page.get_attribute("link[rel=canonical]", "href")
        assert canonical is not None and canonical.startswith("https://acme.github.io/churn/")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_build_warns_once_above_the_github_pages_limit(
    tmp_path: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mltrail_generator import pipeline

    store, _ = init_store(tmp_path / "runs")
    runner = CliRunner()
    args = ["build", str(store.root), "-o", str(tmp_path / "site")]
    small = runner.invoke(build_cli(), args)
    assert small.exit_code == 0 and "Warning" not in small.stderr
    monkeypatch.setattr(pipeline, "PAGES_LIMIT_BYTES", 1000)
    big = runner.invoke(build_cli(), [*args, "--clean"])
    assert big.exit_code == 0
    assert big.stderr.count("Warning:") == 1 and "more than the 1e-06 GB GitHub" in big.stderr
    assert "GitHub Pages" not in big.stdout and "MB." in big.stdout


_OWNER = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}", fullmatch=True)
_NAME = st.from_regex(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,40}", fullmatch=True).filter(
    lambda n: not n.endswith(".git")
)


@given(owner=_OWNER, name=_NAME, form=st.sampled_from(["https", "scp", "ssh"]))
def test_every_form_of_a_github_url_gives_its_repository(owner: str, name: str, form: str) -> None:
    url = {
        "https": f"https://github.com/{owner}/{name}.git",
        "scp": f"git@github.com:{owner}/{name}",
        "ssh": f"ssh://git@github.com/{owner}/{name}.git",
    }[form]
    assert repository_of(url) == f"{owner}/{name}"
    base = github_base_url(f"{owner}/{name}")
    assert base.startswith(f"https://{owner.lower()}.github.io/") and base.endswith("/")


@given(st.text())
def test_any_remote_url_gives_a_safe_repository_name_or_none(url: str) -> None:
    found = repository_of(url)
    assert found is None or re.fullmatch(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+", found)
