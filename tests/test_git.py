"""Tests for mltrail.git against real repositories in tmp dirs."""

from __future__ import annotations

import logging
import multiprocessing
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from mltrail.git import (
    SourceInfo,
    commit_paths,
    find_repo_root,
    init_repo,
    objects,
    pending_paths,
    source_info,
)
from mltrail.store.committer import Committer


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def commit_count(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD"))


def files_at_head(repo: Path) -> set[str]:
    return set(git(repo, "ls-tree", "-r", "--name-only", "HEAD").split())


@pytest.fixture(autouse=True)
def isolated_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A known global git config instead of the machine's."""
    home = tmp_path / "home"
    home.mkdir()
    config = home / ".gitconfig"
    config.write_text("[user]\n\tname = Test User\n\temail = test@example.com\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(var, raising=False)
    return config


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with one user commit: README.md and src/app.py."""
    root = tmp_path / "repo"
    init_repo(root)
    git(root, "checkout", "-q", "-b", "main")
    write(root / "README.md", "hello\n")
    write(root / "src" / "app.py", "print(1)\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def test_find_repo_root(repo: Path, tmp_path: Path) -> None:
    assert find_repo_root(repo / "runs" / "not-yet" / "x") == repo
    assert find_repo_root(repo) == repo
    outside = tmp_path / "outside"
    outside.mkdir()
    assert find_repo_root(outside) is None


def test_commit_holds_only_given_paths_and_keeps_user_staging(repo: Path) -> None:
    write(repo / "README.md", "staged edit\n")
    git(repo, "add", "README.md")
    write(repo / "README.md", "staged edit\nplus an unstaged one\n")
    write(repo / "notes.txt", "untracked user file\n")
    staged_before = git(repo, "diff", "--cached")
    run = repo / "runs" / "r1"
    write(run / "meta.yaml", "id: r1\n")
    write(run / "metrics" / "loss", "1 0.5\n")

    sha = commit_paths(repo, [run], "run r1")

    assert sha == git(repo, "rev-parse", "HEAD").strip()
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(changed) == ["runs/r1/meta.yaml", "runs/r1/metrics/loss"]
    assert git(repo, "log", "-1", "--format=%s").strip() == "run r1"
    assert git(repo, "diff", "--cached") == staged_before
    assert (repo / "README.md").read_text() == "staged edit\nplus an unstaged one\n"
    status = git(repo, "status", "--porcelain")
    assert "runs/" not in status
    assert status.splitlines() == ["MM README.md", "?? notes.txt"]


def test_unborn_branch_first_commit(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    init_repo(root)
    git(root, "symbolic-ref", "HEAD", "refs/heads/trunk")
    write(root / "other.txt", "not mine\n")
    run = write(root / "runs" / "r1" / "meta.yaml", "id: r1\n").parent

    assert commit_paths(root, [run], "first") is not None

    assert git(root, "symbolic-ref", "HEAD").strip() == "refs/heads/trunk"
    assert files_at_head(root) == {"runs/r1/meta.yaml"}
    assert git(root, "status", "--porcelain").splitlines() == ["?? other.txt"]


def test_store_at_repo_root(tmp_path: Path) -> None:
    root = tmp_path / "store"
    init_repo(root)
    write(root / "runs" / "r1" / "meta.yaml", "id: r1\n")
    commit_paths(root, [root], "everything")
    assert files_at_head(root) == {"runs/r1/meta.yaml"}


def test_detached_head(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    base = git(repo, "rev-parse", "HEAD").strip()
    run = write(repo / "runs" / "r1" / "meta.yaml", "x\n").parent

    sha = commit_paths(repo, [run], "detached")

    assert git(repo, "rev-parse", "HEAD").strip() == sha
    assert git(repo, "rev-parse", "HEAD^").strip() == base
    assert git(repo, "rev-parse", "main").strip() == base
    assert subprocess.run(["git", "-C", str(repo), "symbolic-ref", "-q", "HEAD"]).returncode == 1


def test_deleted_path_and_no_change(repo: Path) -> None:
    keep = write(repo / "runs" / "keep" / "meta.yaml", "k\n").parent
    gone = write(repo / "runs" / "gone" / "meta.yaml", "g\n").parent
    commit_paths(repo, [keep, gone], "two runs")
    for child in gone.iterdir():
        child.unlink()
    gone.rmdir()

    assert commit_paths(repo, [gone, repo / "runs" / "never-existed"], "purge") is not None
    assert "runs/gone/meta.yaml" not in files_at_head(repo)
    assert "runs/keep/meta.yaml" in files_at_head(repo)
    assert git(repo, "status", "--porcelain") == ""
    before = commit_count(repo)
    assert commit_paths(repo, [keep, gone], "nothing new") is None
    assert commit_count(repo) == before


def test_ignored_files_are_not_committed(repo: Path) -> None:
    write(repo / ".gitignore", "*.lock\n")
    run = repo / "runs" / "r1"
    write(run / "meta.yaml", "m\n")
    write(run / "cache.lock", "ignored\n")
    commit_paths(repo, [run, run / "cache.lock"], "with ignored")
    assert "runs/r1/meta.yaml" in files_at_head(repo)
    assert "runs/r1/cache.lock" not in files_at_head(repo)


def test_pending_paths(repo: Path) -> None:
    store = repo / "runs"
    old = write(store / "old" / "meta.yaml", "1\n")
    doomed = write(store / "doomed" / "meta.yaml", "1\n")
    commit_paths(repo, [store], "base")
    write(repo / ".gitignore", "*.tmp\n")
    write(old, "2\n")
    doomed.unlink()
    new = write(store / "new" / "a" / "b.txt", "new\n")
    write(store / "new" / "scratch.tmp", "ignored\n")
    write(repo / "src" / "app.py", "print(2)\n")

    assert sorted(pending_paths(repo, store)) == sorted([old, doomed, new])
    commit_paths(repo, pending_paths(repo, store), "pending")
    assert pending_paths(repo, store) == []


def test_coalescing(repo: Path) -> None:
    before = commit_count(repo)
    committer = Committer(repo)
    paths = [write(repo / "runs" / f"r{i}" / "meta.yaml", f"{i}\n").parent for i in range(50)]
    for i, path in enumerate(paths):
        committer.submit([path], f"run r{i}")
    assert committer.flush(timeout=30)
    committer.close()

    made = commit_count(repo) - before
    assert 1 <= made < 10
    assert all(f"runs/r{i}/meta.yaml" in files_at_head(repo) for i in range(50))
    message = git(repo, "log", "-1", "--format=%B")
    title = message.splitlines()[0]
    assert title.startswith("run r") and " more change" in title and "run r49" in message
    assert git(repo, "status", "--porcelain") == ""


def test_committer_single_message_and_reuse(repo: Path) -> None:
    committer = Committer(repo)
    committer.submit([write(repo / "runs" / "a" / "m", "1\n")], "only one")
    assert committer.flush(timeout=30)
    assert git(repo, "log", "-1", "--format=%B").strip() == "only one"
    committer.close()
    committer.submit([write(repo / "runs" / "b" / "m", "1\n")], "after close")
    assert committer.flush(timeout=30)
    assert git(repo, "log", "-1", "--format=%B").strip() == "after close"


def _commit_five_times(root: str, worker: int) -> None:
    repo = Path(root)
    for j in range(5):
        path = write(repo / "runs" / f"p{worker}" / f"step{j}.txt", f"{worker}-{j}\n")
        commit_paths(repo, [path], f"worker {worker} step {j}")


def test_concurrent_processes(repo: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_commit_five_times, args=(str(repo), i)) for i in range(8)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [proc.exitcode for proc in procs] == [0] * 8
    committed = files_at_head(repo)
    assert all(f"runs/p{i}/step{j}.txt" in committed for i in range(8) for j in range(5))
    assert commit_count(repo) == 41
    assert git(repo, "status", "--porcelain") == ""


def test_concurrent_threads_with_a_user_commit(repo: Path) -> None:
    def commit_five(worker: int) -> None:
        for j in range(5):
            path = write(repo / "runs" / f"t{worker}" / f"step{j}.txt", f"{j}\n")
            commit_paths(repo, [path], f"thread {worker} step {j}")

    threads = [threading.Thread(target=commit_five, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    write(repo / "src" / "app.py", "print('user')\n")
    for _ in range(50):  # plain git does not wait for locks: the user would retry too
        user = ["commit", "-q", "-m", "user commit meanwhile", "src/app.py"]
        if subprocess.run(["git", "-C", str(repo), *user], capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    for thread in threads:
        thread.join(60)
    assert commit_count(repo) == 1 + 20 + 1
    assert all(f"runs/t{i}/step{j}.txt" in files_at_head(repo) for i in range(4) for j in range(5))
    assert git(repo, "log", "--format=%s").count("user commit meanwhile") == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_gets_a_fresh_worker(repo: Path) -> None:
    committer = Committer(repo)
    committer.submit([write(repo / "runs" / "parent" / "m", "1\n")], "parent")
    pid = os.fork()  # most likely while the parent's commit is in flight
    if pid == 0:  # the child: the worker thread and its queue do not exist here
        committer.submit([write(repo / "runs" / "child" / "m", "1\n")], "child")
        os._exit(0 if committer.flush(timeout=30) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert committer.flush(timeout=30)
    assert {"runs/parent/m", "runs/child/m"} <= files_at_head(repo)


def test_git_missing_warns_once(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    empty = tmp_path / "no-git-here"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    run = write(repo / "runs" / "r1" / "meta.yaml", "m\n").parent
    committer = Committer(repo)
    with caplog.at_level(logging.WARNING, logger="mltrail.git"):
        committer.submit([run], "one")
        assert committer.flush(timeout=30)
        committer.submit([run], "two")
        assert committer.flush(timeout=30)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "mltrail commit" in warnings[0].getMessage()
    assert (run / "meta.yaml").read_text() == "m\n"
    assert source_info(repo) is None


def test_identity_fallback(
    repo: Path, isolated_git_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolated_git_config.write_text("")
    monkeypatch.setenv("MLTRAIL_USER", "alice")
    monkeypatch.delenv("EMAIL", raising=False)
    commit_paths(repo, [write(repo / "runs" / "r1" / "m", "1\n")], "as alice")
    assert (
        git(repo, "log", "-1", "--format=%an <%ae>|%cn").strip() == "alice <alice@localhost>|alice"
    )


def test_identity_from_config(repo: Path) -> None:
    commit_paths(repo, [write(repo / "runs" / "r1" / "m", "1\n")], "as configured")
    assert git(repo, "log", "-1", "--format=%an <%ae>").strip() == "Test User <test@example.com>"


def test_source_info_dirty(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://bob:s3cret@example.com/team/code.git")
    write(repo / "src" / "app.py", "print('changed')\n")
    write(repo / "runs" / "r1" / "meta.yaml", "m\n")
    git(repo, "add", "runs")

    info = source_info(repo / "src" / "app.py", exclude=repo / "runs")

    assert isinstance(info, SourceInfo)
    assert info.commit == git(repo, "rev-parse", "HEAD").strip()
    assert info.branch == "main"
    assert info.remote_url == "https://example.com/team/code.git"
    assert info.dirty
    assert "+print('changed')" in info.diff
    assert "runs/r1" not in info.diff


def test_source_info_clean_detached(repo: Path, tmp_path: Path) -> None:
    git(repo, "remote", "add", "upstream", "git@example.com:team/code.git")
    git(repo, "checkout", "-q", "--detach")
    write(repo / "untracked.txt", "ignored for dirtiness\n")
    info = source_info(repo)
    assert info == SourceInfo(
        commit=git(repo, "rev-parse", "HEAD").strip(),
        branch=None,
        remote_url="git@example.com:team/code.git",
        dirty=False,
        diff="",
    )
    outside = tmp_path / "plain"
    outside.mkdir()
    assert source_info(outside) is None


def test_objects_are_read_at_a_commit_never_from_the_work_tree(repo: Path) -> None:
    """``mltrail.git.objects``: folders one tree at a time, links flagged, blobs capped."""
    (repo / "docs").mkdir()
    (repo / "docs" / "a.md").write_text("first")
    os.symlink("/etc/passwd", repo / "docs" / "link.md")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "docs")
    head = git(repo, "rev-parse", "HEAD").strip()
    (repo / "docs" / "a.md").write_text("changed in the work tree")

    assert objects.has_commit(repo, head) and not objects.has_commit(repo, "HEAD")
    assert not objects.has_commit(repo, "0" * 40) and not objects.has_commit(repo, head[:12])
    assert (
        objects.resolve_commit(repo, "HEAD") == head
        and objects.resolve_commit(repo, "--all") is None
    )
    entries = {e.name: e for e in objects.tree_entries(repo, head, "docs") or []}
    assert set(entries) == {"a.md", "link.md"}
    assert entries["a.md"].is_file and entries["a.md"].size == 5
    assert entries["link.md"].is_link and not entries["link.md"].is_file
    assert objects.read_blob(repo, entries["a.md"].oid, 5) == b"first"
    assert objects.read_blob(repo, entries["a.md"].oid, 4) is None  # over the cap
    assert {"README.md", "docs"} <= {e.name for e in objects.tree_entries(repo, head, ".") or []}
    for missing in ("nope", "README.md", "docs/a.md", "../x"):
        assert objects.tree_entries(repo, head, missing) is None, missing
