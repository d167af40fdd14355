"""Git's own housekeeping for the commits mltrail makes, in the background.

`git commit` runs `git gc --auto` (by way of `git maintenance run --auto`) after each
commit; mltrail's plumbing and libgit2 commits never did, so a store's loose objects piled
up (10,000 runs: 85,000 loose objects, 334 MB; 27 MB once packed). After each commit,
`after_commit` looks at what git's `gc --auto` heuristic looks at (the loose objects in
`objects/17`, against `gc.auto` / 256) and, when git would act, starts `git gc --auto`
as a detached process: the committing thread never waits on it, an exiting training
script leaves it running, and a second one never starts while one runs (a lock the child
holds) nor more than once per `MIN_INTERVAL` seconds. `git config maintenance.auto false`
or `gc.auto 0` turns it off, as for git's own commits. (`git maintenance run --auto`
itself is not used: git 2.39's does not start `gc` for loose objects alone.)
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from mltrail.git import policy
from mltrail.git.run import _env, _run

log = logging.getLogger(__name__)

#: Seconds between two starts of `gc --auto` for one repository (git may refuse to act,
#: e.g. a `pre-auto-gc` hook says no: then the next commits must not start it again).
MIN_INTERVAL = 60.0
#: In the git directory: held (flock) by the running `gc`; written (mtime) at each start.
LOCK_NAME = "mltrail-maintenance.lock"
_GC_AUTO_DEFAULT = 6700  # git's default `gc.auto`
_DETACHED = getattr(subprocess, "DETACHED_PROCESS", 0) | getattr(
    subprocess, "CREATE_NEW_PROCESS_GROUP", 0
)

_Key = tuple[str, tuple[object, ...]]
_settings: dict[_Key, tuple[int, bool]] = {}
_settings_lock = threading.Lock()


def _settings_of(repo: Path) -> tuple[int, bool]:
    """(`gc.auto`, `maintenance.auto`) as git reads them; asked again when a config changes."""
    files = policy._config_files(repo)
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("GIT_CONFIG")))
    key = (str(repo), (env, tuple(policy._stamp(path) for path in files)))
    with _settings_lock:
        cached = _settings.get(key)
    if cached is not None:
        return cached
    gc_auto, auto = _GC_AUTO_DEFAULT, True
    proc = _run(repo, ["config", "--type=int", "--get", "gc.auto"])
    if proc.returncode == 0 and proc.stdout.strip():
        gc_auto = int(proc.stdout.strip())
    proc = _run(repo, ["config", "--type=bool", "--get", "maintenance.auto"])
    if proc.returncode == 0:
        auto = proc.stdout.strip() != "false"
    with _settings_lock:
        _settings[key] = (gc_auto, auto)
    return gc_auto, auto


def needs_housekeeping(repo: Path) -> bool:
    """Whether `git gc --auto` would find too many loose objects in `repo` (its estimate).

    Git counts the loose objects of one of the 256 object folders (`objects/17`) and acts
    when they exceed `gc.auto` / 256 (rounded up); this does the same, without a process.
    """
    gc_auto, auto = _settings_of(repo)
    if gc_auto <= 0 or not auto:
        return False
    limit = -(-gc_auto // 256)
    with contextlib.suppress(OSError), os.scandir(policy._git_dir(repo) / "objects" / "17") as it:
        count = 0
        for entry in it:
            count += len(entry.name) == 38
            if count > limit:
                return True
    return False


def running(repo: Path) -> bool:
    """Whether a maintenance started by mltrail still runs in `repo` (its lock is held)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock to ask; git's own `gc.pid` guards it
        return False
    try:
        with open(policy._git_dir(repo) / LOCK_NAME, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            return False  # closing the handle releases the lock
    except OSError:
        return False


def after_commit(repo: Path) -> bool:
    """Start git's housekeeping in the background if git would now do some; never raises.

    Returns whether it was started. Cheap when nothing is due (a few `stat`s and one
    folder listing); the process it starts is detached and holds a lock until it ends.
    """
    try:
        if not needs_housekeeping(repo):
            return False
        return _start(repo)
    except (OSError, ValueError, subprocess.SubprocessError) as e:
        log.debug("git maintenance was not started in %s: %s", repo, e)
        return False


def _start(repo: Path) -> bool:
    """Take the lock, and hand it to a detached `git gc --auto`."""
    try:
        import fcntl
    except ImportError:
        fcntl = None  # type: ignore[assignment]
    lock_path = policy._git_dir(repo) / LOCK_NAME
    with open(lock_path, "a") as handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # one is running
        stat = os.fstat(handle.fileno())  # empty: never started; else written at its start
        if stat.st_size and time.time() - stat.st_mtime < MIN_INTERVAL:
            return False  # one started a moment ago
        handle.truncate(0)
        handle.write(f"git gc --auto started at {time.time():.0f}\n")
        handle.flush()
        args = ["git", "-C", str(repo), "-c", "gc.autoDetach=false"]
        proc = subprocess.Popen(
            [*args, "gc", "--auto", "--quiet"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_env(),
            pass_fds=(handle.fileno(),) if fcntl is not None else (),  # the child holds it
            # its own session (process group on Windows): it outlives this process and
            # gets none of its terminal's signals (Ctrl+C of the training script)
            start_new_session=sys.platform != "win32",
            creationflags=_DETACHED if sys.platform == "win32" else 0,
        )
    threading.Thread(target=proc.wait, name="mltrail-git-maintenance", daemon=True).start()
    log.debug("started git maintenance in %s (pid %d)", repo, proc.pid)
    return True
