"""Shared fixtures: real git repositories, real stores, the fluent API pointed at them.

The store, tracking and CLI tests ask for ``store`` or ``tracking`` (which pull in
``clean_env``), so other test modules are left alone. The one thing every test gets
(``_session_user_cache``) is a user cache folder of the test session's own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest
from hypothesis import HealthCheck, settings

import mltrail
from mltrail.store import FileStore, init_store
from mltrail.tracking import context

# A loaded machine (CI installing packages, two xdist workers) must not fail a property
# test for being slow: speed is measured in benchmarks/, never asserted here.
settings.register_profile("mltrail", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("mltrail")


@pytest.fixture(scope="session", autouse=True)
def _session_user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """mltrail's caches of this user (run indexes of stores outside the repository, sites
    of ``mltrail ui``, the signing key) in a folder of the session's temporary ones, not
    in the user's ``~/.cache``: a run of the suite left 500 MB there. pip's and uv's
    downloads stay in the user's caches, shared. Subprocesses inherit it."""
    names = ("XDG_CACHE_HOME", "PIP_CACHE_DIR", "UV_CACHE_DIR")
    saved = {name: os.environ.get(name) for name in names}
    user = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    if sys.platform != "darwin":  # pip follows XDG_CACHE_HOME elsewhere, not on macOS
        os.environ.setdefault("PIP_CACHE_DIR", os.path.join(user, "pip"))
    os.environ.setdefault("UV_CACHE_DIR", os.path.join(user, "uv"))
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("user-cache"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


GitRunner = Callable[..., str]
ScriptRunner = Callable[..., subprocess.CompletedProcess[str]]

#: Environment variables that would steer mltrail or git away from the test's own setup.
STEERING_ENV_VARS = (
    "MLTRAIL_TRACKING_URI",
    "MLTRAIL_AUTO_COMMIT",
    "MLTRAIL_ARTIFACT_CACHE",
    "MLTRAIL_EXPERIMENT_ID",
    "MLTRAIL_EXPERIMENT_NAME",
    "MLTRAIL_RUN_ID",
    "MLTRAIL_USER",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_RUN_ID",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
)


def run_git(repo: Path, *args: str, check: bool = True) -> str:
    """``git -C repo args...``; its stdout (raises with git's stderr when ``check``)."""
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def make_repo(path: Path) -> Path:
    """A git repository at ``path`` with a repo-local identity and one commit (README.md)."""
    path.mkdir(parents=True, exist_ok=True)
    run_git(path, "init", "-q", "-b", "main")
    configure_identity(path)
    (path / "README.md").write_text("# project\n")
    run_git(path, "add", "README.md")
    run_git(path, "commit", "-q", "-m", "Initial commit")
    return path


def configure_identity(repo: Path) -> None:
    run_git(repo, "config", "user.name", "Test User")
    run_git(repo, "config", "user.email", "test@example.com")


@pytest.fixture
def clean_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No mltrail/MLflow variables, and a global git config without any identity."""
    for var in STEERING_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    config = tmp_path_factory.getbasetemp() / "gitconfig"
    if not config.exists():
        config.write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture
def git() -> GitRunner:
    """``git(repo, *args)`` runs git and returns its stdout."""
    return run_git


@pytest.fixture
def repo(tmp_path: Path, clean_env: None) -> Path:
    """A user's project repository (README.md committed, repo-local identity)."""
    return make_repo(tmp_path / "project")


@pytest.fixture
def store(repo: Path) -> FileStore:
    """A fresh store at ``<repo>/runs``, its creation committed."""
    created, _ = init_store(repo / "runs")
    return created


@pytest.fixture
def tracking(store: FileStore, repo: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FileStore]:
    """The fluent API pointed at ``store``, run from the project folder.

    Open runs are ended and background commits flushed afterwards.
    """
    monkeypatch.chdir(repo)  # source detection looks at the cwd, never at this checkout
    mltrail.set_tracking_uri(store.root)
    yield store
    while mltrail.active_run() is not None:
        mltrail.end_run()
    context.close_all()
    context.reset_tracking_uri()


def set_store_config(store: FileStore, **settings: object) -> None:
    """Change settings in the store's ``mltrail-store.yaml`` (before the API opens it)."""
    import yaml

    marker = store.root / "mltrail-store.yaml"
    record = yaml.safe_load(marker.read_text())
    record.update(settings)
    marker.write_text(yaml.safe_dump(record))


@pytest.fixture
def store_config(store: FileStore) -> Callable[..., None]:
    """``store_config(key=value, ...)`` edits the ``store`` fixture's settings file."""
    return lambda **settings: set_store_config(store, **settings)


@pytest.fixture
def run_script(tmp_path: Path) -> ScriptRunner:
    """Run a Python script (dedented source) in a subprocess with this interpreter.

    ``run_script(source, cwd=..., env={...}, name="train.py", timeout=60)``; the script
    is written to ``cwd/name`` (default: the tmp folder) and run from ``cwd``.
    """

    def run(
        source: str,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        name: str = "script.py",
        timeout: float = 60,
        check: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        folder = cwd or tmp_path
        script = folder / name
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(textwrap.dedent(source))
        proc = subprocess.run(
            [sys.executable, str(script)],
            cwd=folder,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"{name} exited {proc.returncode}:\n{proc.stderr}")
        return proc

    return run


def skip_unless_ci(reason: str) -> NoReturn:
    """Skip the test for ``reason``, except under CI (``CI`` set), where it fails.

    For a safety net that cannot run here (a missing tool, other library versions):
    on a developer's machine that is a skip with a reason, but CI (.ci/run sets ``CI``)
    provides everything, so there the same gap means the net is gone: a failure.
    """
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (under CI, where this is a failure, not a skip)")
    pytest.skip(reason)


#: The library versions the byte-for-byte snapshots were made with (golden site, sample store).
CONSTRAINTS = Path(__file__).resolve().parent.parent / "constraints.txt"
#: How to get those versions, or to move the snapshots to the installed ones.
PIN_HINT = (
    'install the test dependencies with `pip install -e ".[test]" -c constraints.txt` '
    "(the README's test command)"
)


def pinned_versions() -> dict[str, str]:
    """``constraints.txt`` as ``{lower-case name: version}``."""
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name, _, version = requirement.partition("==")
            pins[name.strip().lower()] = version.strip()
    return pins


# --- real Chromium ----------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (its own browser download cannot work here).

    Skipped where Chromium is not installed, except under CI, where .ci/run installs it
    and a missing browser is a failure (see ``skip_unless_ci``).
    """
    if not CHROMIUM.exists():
        skip_unless_ci(
            f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


# --- the wheel that ships ------------------------------------------------------------


@dataclass(frozen=True)
class InstalledWheel:
    """The project's wheel, installed without deps into ``target``; ``env`` runs from it."""

    wheel: Path
    target: Path
    env: dict[str, str]


def run_ok(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command; its stdout, or a failure showing its output."""
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> InstalledWheel:
    """Built and installed once per session: the tests of what ships share it."""
    here = tmp_path_factory.mktemp("wheel")
    root = Path(__file__).resolve().parent.parent
    pip = (sys.executable, "-m", "pip")
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources, and
    # two test workers building in the checkout at once would share them.
    source = here / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        shutil.copy2(root / name, source / name)
    for name in ("mltrail", "generator", "themes"):
        shutil.copytree(root / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    run_ok(*pip, "wheel", "--no-deps", "-q", "-w", str(here), str(source), cwd=here)
    (wheel,) = here.glob("mltrail-*.whl")
    target = here / "target"
    run_ok(*pip, "install", "--no-deps", "-q", "--target", str(target), str(wheel), cwd=here)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLTRAIL_", "MLFLOW_", "GIT_"))}
    env["PYTHONPATH"] = str(target)
    return InstalledWheel(wheel, target, env)
