"""`mltrail pages init`: a GitHub Actions workflow that publishes the store's dashboard.

The workflow builds the site with `mltrail build` on every push to the branch and deploys
it with GitHub's own Pages actions (`actions/upload-pages-artifact`, then
`actions/deploy-pages` in a job of its own, with only the permissions each job needs).
It installs the mltrail release that wrote it (`mltrail==<version>`): the site is built by
the version that knows the store's format; `--pip-install` names anything else pip takes
(a newer pin, a git URL, the repository's own `requirements.txt`).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import secrets
import shlex
from dataclasses import dataclass
from pathlib import Path

from mltrail.errors import InvalidParameterValue, MltrailError
from mltrail.git import sync as gitsync

#: Where GitHub keeps workflows, relative to the repository root.
WORKFLOWS_DIR = Path(".github", "workflows")
DEFAULT_NAME = "mltrail-pages"
#: The Python the workflow sets up.
PYTHON_VERSION = "3.12"
#: `owner/name` of a GitHub repository, in an https, ssh or scp-like URL.
_GITHUB_URL = re.compile(
    r"^(?:https://(?:[^@/]+@)?github\.com/|ssh://git@github\.com/|git@github\.com:)"
    r"(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/(?P<name>[A-Za-z0-9._-]{1,100}?)(?:\.git)?/?$"
)
_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_BASE_URL = re.compile(r"^(?:https?://[!-~]+|/[!-~]*)$")  # printable, no spaces
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class PagesWorkflow:
    """What the workflow does: build `store` (relative to the repository root) on pushes
    to `branch`, for a site at `base_url`, with mltrail installed by `pip install <pip>`."""

    store: str
    branch: str
    base_url: str
    pip: str

    @property
    def build_command(self) -> str:
        """The shell command of the build step (the site goes to `$RUNNER_TEMP/site`)."""
        store = shlex.quote(self.store)
        return (
            f'mltrail build {store} -o "$RUNNER_TEMP/site" --base-url {shlex.quote(self.base_url)}'
        )

    def render(self) -> str:
        """The workflow file's text (YAML; every value written as a quoted string)."""
        q = json.dumps  # a JSON string is a YAML double-quoted scalar
        return _TEMPLATE.format(
            base_url=self.base_url,
            branch=q(self.branch),
            python=q(PYTHON_VERSION),
            install=q(f"python -m pip install {shlex.quote(self.pip)}"),
            build=q(self.build_command),
        )


_TEMPLATE = """\
# Written by `mltrail pages init`: builds the mltrail dashboard of the store and deploys it
# to GitHub Pages ({base_url}) on every push.
# Once: Settings > Pages > Build and deployment > Source: "GitHub Actions".
name: mltrail dashboard

on:
  push:
    branches: [{branch}]
  workflow_dispatch:

permissions:
  contents: read

# One deployment at a time; a push while one runs waits and deploys the newest site.
concurrency:
  group: pages
  cancel-in-progress: false

jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v7
        with:
          fetch-depth: 0  # the whole history: model pages show the registry's history
      - uses: actions/setup-python@v7
        with:
          python-version: {python}
      - name: Install mltrail
        run: {install}
      - name: Build the dashboard
        run: {build}
      - uses: actions/upload-pages-artifact@v5
        with:
          path: ${{{{ runner.temp }}}}/site

  deploy:
    needs: build
    runs-on: ubuntu-latest
    permissions:
      pages: write
      id-token: write
    environment:
      name: github-pages
      url: ${{{{ steps.deployment.outputs.page_url }}}}
    steps:
      - id: deployment
        uses: actions/deploy-pages@v5
"""


def github_base_url(repository: str) -> str:
    """The URL GitHub Pages serves `owner/name` at: a project site under `/<name>/`, or the
    user or organization site `https://<owner>.github.io/` for a repository of that name.

    Example:
        >>> github_base_url("acme/churn")
        'https://acme.github.io/churn/'
    """
    if not _REPOSITORY.match(repository) or not repository.partition("/")[2].strip("."):
        raise InvalidParameterValue(
            f"{repository!r} is not a GitHub repository name; give it as OWNER/NAME, e.g. "
            "--repository acme/churn."
        )
    owner, name = repository.split("/")
    host = f"{owner.lower()}.github.io"
    return f"https://{host}/" if name.lower() == host else f"https://{host}/{name}/"


def repository_of(url: str | None) -> str | None:
    """`owner/name` of a GitHub remote URL, or None for any other URL."""
    found = _GITHUB_URL.match(url or "")
    if found is None or not found["name"].strip("."):  # `.` and `..` name no repository
        return None
    return f"{found['owner']}/{found['name']}"


def plan_workflow(
    repo: Path,
    store: Path,
    *,
    repository: str | None = None,
    base_url: str | None = None,
    branch: str | None = None,
    pip: str | None = None,
) -> PagesWorkflow:
    """The workflow for `store` in the git repository `repo`: the site's URL comes from
    `base_url`, else `repository` (OWNER/NAME), else the `origin` remote on GitHub."""
    if base_url is None:
        repository = repository or repository_of(gitsync.remote_url(repo, "origin"))
        if repository is None:
            raise InvalidParameterValue(
                f"The origin remote of {repo} is not on GitHub, so the site's URL is unknown; "
                "name the repository with --repository OWNER/NAME, or the URL with --base-url."
            )
        base_url = github_base_url(repository)
    elif not _BASE_URL.match(base_url):
        raise InvalidParameterValue(
            f"--base-url {base_url!r} is not a URL; give the site's address, e.g. "
            "https://acme.github.io/churn/ or https://ml.example.com/."
        )
    branch = branch or gitsync.current_branch(repo)
    if not branch:
        raise InvalidParameterValue(
            f"{repo} has a detached HEAD; name the branch to publish with --branch NAME."
        )
    rel = Path(os.path.relpath(store, repo)).as_posix()
    version = importlib.metadata.version("mltrail")
    pip = pip or f"mltrail=={version}"
    for what, value in (("store path", rel), ("--base-url", base_url), ("--pip-install", pip)):
        if "${{" in value:  # GitHub would evaluate it as an expression in the step
            raise InvalidParameterValue(
                f"The {what} {value!r} holds '${{{{', which GitHub Actions would run as an "
                "expression; rename it or give another value."
            )
    return PagesWorkflow(store=rel, branch=branch, base_url=base_url, pip=pip)


def write_workflow(repo: Path, workflow: PagesWorkflow, name: str, force: bool = False) -> Path:
    """Write `workflow` to `.github/workflows/<name>.yml` under `repo`; refuses to replace
    an existing file unless `force`. Returns the file's path."""
    if not _FILE_NAME.match(name):
        raise InvalidParameterValue(
            f"{name!r} is not a workflow file name; use letters, digits, '.', '_' and '-'."
        )
    path = repo / WORKFLOWS_DIR / f"{name}.yml"
    if path.exists() and not force:
        raise MltrailError(
            f"{path} exists; pass --force to replace it, or --name to write another file."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    tmp.write_text(workflow.render(), encoding="utf-8")
    os.replace(tmp, path)
    return path
