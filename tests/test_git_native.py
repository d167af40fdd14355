"""Commits built in-process (mltrail.git.native): the same commits, index and history as
git's plumbing makes, without a git process; what it cannot do exactly, git does."""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mltrail.git import commit_paths, native, policy
from tests.conftest import make_repo, run_git


@pytest.fixture
def processes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """The git commands mltrail starts (every one goes through subprocess.run)."""
    started: list[list[str]] = []
    real = subprocess.run

    def counting(args: list[str], *rest: object, **kwargs: object) -> object:
        started.append(list(args))
        return real(args, *rest, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "run", counting)
    yield started


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_file_commit_starts_no_git_process_and_keeps_the_user_staging(
    repo: Path, processes: list[list[str]]
) -> None:
    write(repo / "README.md", "staged by the user\n")
    run_git(repo, "add", "README.md")
    write(repo / "notes.txt", "untracked\n")
    for config in (repo / ".git" / "config", Path(os.environ["GIT_CONFIG_GLOBAL"])):
        os.utime(config, (1_000_000_000, 1_000_000_000))  # not "just changed": cached
    version = write(repo / "runs" / "models" / "m" / "versions" / "v1.yaml", "version: 1\n")
    commit_paths(repo, [version], "model m: register v1")  # identity and config: asked once
    staged = run_git(repo, "diff", "--cached")
    processes.clear()

    write(version, "version: 1\nstage: Production\n")
    alias = write(repo / "runs" / "models" / "m" / "aliases" / "champion.yaml", "version: 1\n")
    sha = commit_paths(repo, [version, alias], "model m v1: Production\n\nTrailer: x\n")

    assert processes == []
    assert sha == run_git(repo, "rev-parse", "HEAD").strip()
    assert run_git(repo, "log", "-1", "--format=%B") == "model m v1: Production\n\nTrailer: x\n\n"
    author = run_git(repo, "log", "-1", "--format=%an <%ae>").strip()
    assert author == "Test User <test@example.com>"
    changed = run_git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert changed == ["runs/models/m/aliases/champion.yaml", "runs/models/m/versions/v1.yaml"]
    assert run_git(repo, "diff", "--cached") == staged  # the user's staging is untouched
    assert run_git(repo, "status", "--porcelain").splitlines() == ["M  README.md", "?? notes.txt"]
    assert "mltrail: model m v1: Production" in run_git(repo, "reflog", "-1")
    run_git(repo, "fsck", "--strict", "--no-dangling")


def test_unborn_branch_and_detached_head(tmp_path: Path, clean_env: None) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    run_git(root, "init", "-q", "-b", "trunk")
    record = write(root / "runs" / "a.yaml", "a\n")
    first = commit_paths(root, [record], "first", _IDENTITY)
    assert first == run_git(root, "rev-parse", "trunk").strip()
    assert run_git(root, "status", "--porcelain") == ""

    run_git(root, "checkout", "-q", "--detach")
    second = commit_paths(root, [write(record, "b\n")], "detached", _IDENTITY)
    assert run_git(root, "rev-parse", "HEAD").strip() == second
    assert run_git(root, "rev-parse", "trunk").strip() == first  # the branch stays


_IDENTITY = {
    "GIT_AUTHOR_NAME": "A",
    "GIT_AUTHOR_EMAIL": "a@example.com",
    "GIT_COMMITTER_NAME": "A",
    "GIT_COMMITTER_EMAIL": "a@example.com",
}


def test_ignored_files_as_git_add_treats_them(repo: Path) -> None:
    write(repo / ".gitignore", "*.lock\n")
    tracked = write(repo / "runs" / "tracked.lock", "1\n")
    run_git(repo, "add", "-f", str(tracked))
    run_git(repo, "commit", "-q", "-m", "a tracked ignored file")
    untracked = write(repo / "runs" / "new.lock", "x\n")
    record = write(repo / "runs" / "r.yaml", "r\n")
    write(tracked, "2\n")

    commit_paths(repo, [record, tracked, untracked], "mixed")

    at_head = run_git(repo, "ls-tree", "-r", "--name-only", "HEAD").split()
    assert "runs/r.yaml" in at_head and "runs/new.lock" not in at_head
    assert run_git(repo, "show", "HEAD:runs/tracked.lock") == "2\n"  # updated, as git add does


def test_a_filter_attribute_is_left_to_git(repo: Path) -> None:
    run_git(repo, "config", "filter.upper.clean", "tr a-z A-Z")
    run_git(repo, "config", "filter.upper.smudge", "cat")
    write(repo / ".gitattributes", "*.txt filter=upper\n")
    note = write(repo / "runs" / "note.txt", "shout\n")
    commit_paths(repo, [note], "filtered")
    assert run_git(repo, "show", "HEAD:runs/note.txt") == "SHOUT\n"  # git ran the filter


def test_hooks_that_git_runs_still_run(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    ran = repo.parent / "ran.txt"
    for name in ("reference-transaction", "post-index-change"):
        write(hooks / name, f'#!/bin/sh\necho {name} >> "{ran}"\n').chmod(0o755)
    commit_paths(repo, [write(repo / "runs" / "r.yaml", "r\n")], "with hooks")
    assert {"reference-transaction", "post-index-change"} <= set(ran.read_text().split())


def test_a_split_index_is_updated_by_git(repo: Path) -> None:
    run_git(repo, "update-index", "--split-index")  # an index libgit2 cannot read
    write(repo / "README.md", "staged\n")
    run_git(repo, "add", "README.md")
    record = write(repo / "runs" / "r.yaml", "r\n")
    commit_paths(repo, [record], "with a split index")
    assert run_git(repo, "status", "--porcelain").splitlines() == ["M  README.md"]
    assert any(p.name.startswith("sharedindex.") for p in (repo / ".git").iterdir())


def test_a_locked_user_index_waits_then_warns_and_the_commit_lands(
    repo: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(policy, "INDEX_LOCK_WAIT", 0.2)
    lock = write(repo / ".git" / "index.lock", "")
    record = write(repo / "runs" / "r.yaml", "r\n")
    with caplog.at_level(logging.WARNING):
        sha = commit_paths(repo, [record], "while git holds the index")
    assert sha == run_git(repo, "rev-parse", "HEAD").strip()
    assert lock.exists()  # not ours to remove
    assert "landed" in caplog.text and f"rm {lock}" in caplog.text
    lock.unlink()


def test_signing_setting_is_cached_until_a_config_file_changes(
    repo: Path, processes: list[list[str]]
) -> None:
    config, past = repo / ".git" / "config", (1_000_000_000, 1_000_000_000)
    include, later = repo.parent / "signing.inc", repo.parent / "not-yet.inc"
    write(include, "[user]\n\tname = Someone\n")  # no signing setting (yet)
    run_git(repo, "config", "include.path", str(include))
    run_git(repo, "config", "--add", "include.path", str(later))  # does not exist (yet)
    for path in (config, include, Path(os.environ["GIT_CONFIG_GLOBAL"])):
        os.utime(path, past)
    processes.clear()
    assert policy.signs_commits(repo) is False
    assert policy.signs_commits(repo) is False
    assert len(processes) == 1  # asked once

    write(include, "[user]\n\tname = Someone\n[commit]\n\tgpgsign = yes\n")
    assert policy.signs_commits(repo) is True  # an included file changed
    write(include, "[user]\n\tname = Someone\n")
    os.utime(include, past)
    assert policy.signs_commits(repo) is False
    write(later, "[commit]\n\tgpgsign\n")
    assert policy.signs_commits(repo) is True  # an included file appeared


def test_signing_set_in_the_environment_is_seen(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert policy.signs_commits(repo) is False
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "commit.gpgsign")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "true")
    assert policy.signs_commits(repo) is True
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "false")
    assert policy.signs_commits(repo) is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, True), ("yes", True), ("On", True), ("1", True), ("0", False), ("", False)],
)
def test_signing_values_read_as_git_reads_booleans(value: str | None, expected: bool) -> None:
    assert policy._git_bool(value) is expected


# -- the same commits as git's plumbing, whatever the work tree holds -------------------------

_PATHS = ("a.yaml", "m/v1.yaml", "m/v2.yaml", "m/aliases/x.yaml", "n/deep/er/f", "m", "m/t.ign")
_ACTION = st.tuples(
    st.sampled_from(_PATHS),
    st.sampled_from(["write", "exec", "link", "delete", "empty"]),
    st.text("ab\n\r", max_size=6),
)


def _apply(root: Path, path: str, action: str, text: str) -> None:
    target = root / path
    if target.is_dir() and not target.is_symlink():
        for child in sorted(target.rglob("*"), reverse=True):
            child.unlink() if not child.is_dir() or child.is_symlink() else child.rmdir()
        target.rmdir()
    elif target.exists() or target.is_symlink():
        target.unlink()
    if action == "delete":
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        return  # a file where a folder would go: the path cannot exist now
    if action == "link":
        target.symlink_to(text or "nowhere")
        return
    target.write_bytes(b"" if action == "empty" else text.encode())
    if action == "exec":
        target.chmod(0o755)


def _state(root: Path) -> tuple[str, str, str]:
    return (
        run_git(root, "rev-parse", "HEAD^{tree}"),
        run_git(root, "ls-files", "-s"),
        run_git(root, "status", "--porcelain", "--untracked-files=all"),
    )


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(_ACTION, min_size=1, max_size=4), min_size=1, max_size=3))
def test_in_process_commits_match_git(
    clean_env: None, monkeypatch: pytest.MonkeyPatch, commits: list[list[tuple[str, str, str]]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ours, gits = make_repo(Path(tmp) / "ours"), make_repo(Path(tmp) / "git")
        for root in (ours, gits):
            write(root / ".gitignore", "*.ign\n")
            run_git(root, "add", ".gitignore")
            run_git(root, "commit", "-q", "-m", "ignore")
        for actions in commits:
            for root in (ours, gits):
                for path, action, text in actions:
                    _apply(root, path, action, text)
            paths = sorted({path for path, _, _ in actions})
            commit_paths(ours, [ours / p for p in paths], "in process", _IDENTITY)
            with monkeypatch.context() as patch:
                patch.setattr(native, "commit", _unsupported)
                commit_paths(gits, [gits / p for p in paths], "by git", _IDENTITY)
            assert _state(ours) == _state(gits)
        run_git(ours, "fsck", "--strict", "--no-dangling")


def _unsupported(*args: object) -> None:
    raise native.Unsupported("forced: git commits")
