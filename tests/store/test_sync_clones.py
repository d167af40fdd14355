"""Four clones log runs and `mltrail sync` against one bare hub at the same time.

The loop is `benchmarks/sync_clones.py` at a small size (larger runs are benchmarks);
this test checks its outcome on disk itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_git

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "sync_clones.py"


def test_four_clones_syncing_at_once_end_up_alike(tmp_path: Path, clean_env: None) -> None:
    args = [sys.executable, str(SCRIPT), "--clones", "4", "--runs", "3", "--workdir", str(tmp_path)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["runs_logged"] == 12
    assert all(report["checks"].values()), report["checks"]
    clones = sorted(tmp_path.glob("clone*"))
    heads = {run_git(c, "rev-parse", "HEAD") for c in clones}
    assert len(clones) == 4 and len(heads) == 1
    for clone in clones:
        folders = {p.name for p in (clone / "runs" / "runs").glob("*/*")}
        assert len(folders) == 12  # every clone's runs, on disk too
        assert run_git(clone, "ls-files", "-u") == ""  # no conflict left anywhere
        run_git(clone, "fsck", "--strict")
    run_git(tmp_path / "hub.git", "fsck", "--strict")
    # Concurrent syncs integrated by merge commits, each clone's own commits kept.
    merges = run_git(clones[0], "log", "--merges", "--format=%s", "main").splitlines()
    assert merges and all("(mltrail sync)" in m for m in merges)
