"""What auto-commits do with a repository's git policy: signing, hooks, a stale index
lock and a detached HEAD. Real repositories, real gpg and ssh keys, real training scripts."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mltrail.git import commit_paths
from mltrail.store import FileStore
from tests.conftest import GitRunner, ScriptRunner, skip_unless_ci

TRAIN = """
import mltrail
mltrail.set_tracking_uri("runs")
for i in range(2):
    with mltrail.start_run():
        mltrail.log_metric("loss", 1.0 / (i + 1))
"""


def _mltrail(store: FileStore, *args: str) -> subprocess.CompletedProcess[str]:
    """`mltrail commit --store STORE ARGS` in a process of its own, as a user runs it."""
    command = [sys.executable, "-m", "mltrail", "commit", "--store", str(store.root), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        skip_unless_ci(f"{name} is not installed")
    return found


@pytest.fixture
def gpg_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A throwaway ed25519 gpg key without passphrase, in a GNUPGHOME of its own."""
    gpg = _tool("gpg")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    uid = "mltrail test <test@example.com>"
    args = [gpg, "--batch", "--quiet", "--passphrase", "", "--quick-gen-key", uid]
    subprocess.run([*args, "ed25519", "sign", "never"], check=True, capture_output=True)
    yield "test@example.com"
    gpgconf = shutil.which("gpgconf")  # stop the agent this key started
    if gpgconf:
        subprocess.run([gpgconf, "--kill", "gpg-agent"], check=False, capture_output=True)


def _sign_with(git: GitRunner, repo: Path, key: str, *extra: tuple[str, str]) -> None:
    git(repo, "config", "commit.gpgsign", "true")
    git(repo, "config", "user.signingkey", key)
    for name, value in extra:
        git(repo, "config", name, value)


def _log(git: GitRunner, repo: Path, rev: str = "HEAD") -> list[str]:
    return git(repo, "log", "--format=%s", rev).splitlines()


def _runs_committed(git: GitRunner, repo: Path, rev: str = "HEAD") -> int:
    files = git(repo, "ls-tree", "-r", "--name-only", rev, "--", "runs/runs").splitlines()
    return sum(path.endswith("/run.yaml") for path in files)


def _verify_since(git: GitRunner, repo: Path, base: str) -> None:
    """Every commit after `base` carries a signature git verifies (else run_git raises)."""
    commits = git(repo, "rev-list", f"{base}..HEAD").split()
    assert commits
    for commit in commits:
        git(repo, "verify-commit", commit)


def test_plain_commit_tree_ignores_gpgsign(repo: Path, git: GitRunner, gpg_key: str) -> None:
    """Why mltrail passes -S itself: git's commit-tree does not read commit.gpgsign."""
    _sign_with(git, repo, gpg_key)
    tree = git(repo, "write-tree").strip()
    unsigned = git(repo, "commit-tree", tree, "-m", "plumbing").strip()
    assert "gpgsig" not in git(repo, "cat-file", "commit", unsigned)


def test_auto_commits_are_signed_with_gpg(
    store: FileStore, repo: Path, git: GitRunner, gpg_key: str, run_script: ScriptRunner
) -> None:
    _sign_with(git, repo, gpg_key)
    base = git(repo, "rev-parse", "HEAD").strip()
    proc = run_script(TRAIN, cwd=repo, name="train.py")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert _runs_committed(git, repo) == 2
    _verify_since(git, repo, base)
    shown = subprocess.run(
        ["git", "-C", str(repo), "log", "-1", "--show-signature"], capture_output=True, text=True
    )
    assert "Good signature" in shown.stdout + shown.stderr


def test_registry_commits_are_signed_once_the_config_asks(
    repo: Path, git: GitRunner, gpg_key: str
) -> None:
    """Commits of single records are built in-process; signing still goes through git,
    and turning it on is seen at the next commit (the setting is cached, not stale)."""
    record = repo / "runs" / "models" / "m" / "model.yaml"
    record.parent.mkdir(parents=True)
    record.write_text("name: m\n")
    assert commit_paths(repo, [record], "model m: create") is not None
    assert git(repo, "log", "-1", "--format=%G?").strip() == "N"
    base = git(repo, "rev-parse", "HEAD").strip()

    _sign_with(git, repo, gpg_key)
    record.write_text("name: m\ndescription: signed\n")
    assert commit_paths(repo, [record], "model m: describe") is not None
    _verify_since(git, repo, base)


def test_auto_commits_are_signed_with_ssh(
    store: FileStore, repo: Path, git: GitRunner, tmp_path: Path, run_script: ScriptRunner
) -> None:
    key = tmp_path / "id_ed25519"
    keygen = [_tool("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(key)]
    subprocess.run(keygen, check=True, capture_output=True)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text("test@example.com " + key.with_suffix(".pub").read_text())
    _sign_with(
        git,
        repo,
        str(key),
        ("gpg.format", "ssh"),
        ("gpg.ssh.allowedSignersFile", str(allowed)),
    )
    base = git(repo, "rev-parse", "HEAD").strip()
    proc = run_script(TRAIN, cwd=repo, name="train.py")
    assert proc.returncode == 0, proc.stderr
    assert _runs_committed(git, repo) == 2
    _verify_since(git, repo, base)
    assert git(repo, "log", "-1", "--format=%G?").strip() == "G"


def test_signing_failure_warns_once_and_keeps_the_runs(
    store: FileStore, repo: Path, git: GitRunner, gpg_key: str, run_script: ScriptRunner
) -> None:
    _sign_with(git, repo, "nobody@nowhere.invalid")  # a key gpg does not have
    before = _log(git, repo)

    proc = run_script(TRAIN, cwd=repo, name="train.py")

    assert proc.returncode == 0, proc.stderr  # training is never broken
    warning = proc.stderr.strip()
    assert len(warning.splitlines()) == 1, warning  # one warning, one line
    assert f"cannot sign the commit in {repo}" in warning
    assert "commit.gpgsign=true" in warning
    assert "auto_commit: false" in warning and "mltrail commit" in warning
    assert _log(git, repo) == before  # nothing unsigned slipped in
    assert len(list((store.root / "runs").rglob("run.yaml"))) == 2

    git(repo, "config", "user.signingkey", gpg_key)  # signing works again
    result = _mltrail(store)
    assert result.returncode == 0, result.stderr
    git(repo, "verify-commit", "HEAD")
    assert git(repo, "status", "--porcelain", "--", "runs") == ""


def _hook(repo: Path, name: str, body: str) -> None:
    hook = repo / ".git" / "hooks" / name
    hook.write_text("#!/bin/sh\n" + body)
    hook.chmod(0o755)


def test_auto_commits_do_not_run_commit_hooks(
    store: FileStore, repo: Path, git: GitRunner, tmp_path: Path, run_script: ScriptRunner
) -> None:
    ran = tmp_path / "hook-ran"
    _hook(repo, "pre-commit", f"touch '{ran}'\nexit 1\n")
    _hook(repo, "commit-msg", f"touch '{ran}'\nexit 1\n")
    proc = run_script(TRAIN, cwd=repo, name="train.py")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert _runs_committed(git, repo) == 2
    assert not ran.exists()


def test_commit_hooks_option_runs_the_hooks(
    store: FileStore, repo: Path, git: GitRunner, run_script: ScriptRunner
) -> None:
    run_script(TRAIN, cwd=repo, name="train.py", env={"MLTRAIL_AUTO_COMMIT": "0"}, check=True)
    (repo / "README.md").write_text("# staged by the user\n")
    git(repo, "add", "README.md")
    _hook(repo, "pre-commit", "echo 'pre-commit: store frozen' >&2\nexit 1\n")
    before = _log(git, repo)

    refused = _mltrail(store, "--hooks")

    assert refused.returncode == 1
    assert "pre-commit: store frozen" in refused.stderr
    assert "mltrail commit --hooks" in refused.stderr
    assert _log(git, repo) == before
    assert len(list((store.root / "runs").rglob("run.yaml"))) == 2

    _hook(repo, "pre-commit", "exit 0\n")
    _hook(repo, "commit-msg", "printf '\\nReviewed-by: hook\\n' >> \"$1\"\n")
    done = _mltrail(store, "--hooks", "-m", "Two runs")

    assert done.returncode == 0, done.stderr
    assert git(repo, "log", "-1", "--format=%B").strip() == "Two runs\n\nReviewed-by: hook"
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split("\n")[0].startswith("runs/")
    assert "README.md" not in git(repo, "show", "--name-only", "--format=", "HEAD")
    assert git(repo, "status", "--porcelain").splitlines()[0] == "M  README.md"  # still staged
    assert git(repo, "status", "--porcelain", "--", "runs") == ""


def test_stale_index_lock_does_not_stall_or_fail_the_commit(
    store: FileStore, repo: Path, git: GitRunner, run_script: ScriptRunner
) -> None:
    lock = repo / ".git" / "index.lock"
    lock.write_text("")  # as a crashed git leaves it

    started = time.monotonic()
    proc = run_script(TRAIN, cwd=repo, name="train.py")
    elapsed = time.monotonic() - started

    assert proc.returncode == 0, proc.stderr
    assert _runs_committed(git, repo) == 2  # both runs landed
    assert elapsed < 10  # not the 30 s lock retry (a generous bound, not a benchmark)
    assert "Could not commit" not in proc.stderr
    warning = proc.stderr.strip()
    assert len(warning.splitlines()) == 1, warning
    assert "landed" in warning and f"rm {lock}" in warning

    lock.unlink()
    result = _mltrail(store)
    assert result.returncode == 0, result.stderr
    assert git(repo, "status", "--porcelain", "--", "runs") == ""  # the index caught up


def test_detached_head_warns_once(
    store: FileStore, repo: Path, git: GitRunner, run_script: ScriptRunner
) -> None:
    git(repo, "switch", "-q", "--detach")
    proc = run_script(TRAIN, cwd=repo, name="train.py")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("detached HEAD") == 1, proc.stderr
    assert "switch -c NAME" in proc.stderr
    assert _runs_committed(git, repo) == 2
    assert _runs_committed(git, repo, "main") == 0  # the commits are on no branch
