"""The registry's version cache (one per store object) never serves stale bytes."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mltrail.store import layout
from mltrail.store.registry import RegistryFiles, VersionRecord


def _version(stage: str, description: str = "first") -> VersionRecord:
    return VersionRecord(
        version_id="0192ab34cd",
        name="churn",
        version=1,
        creation_timestamp=1,
        last_updated_timestamp=1,
        source="runs:/r/model",
        run_id="r",
        current_stage=stage,
        description=description,
    )


def test_a_rewrite_that_keeps_the_files_identity_is_seen(tmp_path: Path) -> None:
    """A record read in the same clock tick as its last change, then changed again with
    the same size, inode and time (an editor's in-place save within the tick), reads as
    changed: identity alone is trusted only for entries read well after the change."""
    files = RegistryFiles(tmp_path)
    model = files.model_path("churn")
    path = files.write_version(model, _version("Staging"))
    assert [v.description for v in files.read_versions(model)] == ["first"]
    st = path.stat()
    text = path.read_text().replace("first", "later")  # same length: same size
    with open(path, "r+") as f:  # in place: same inode
        f.write(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same time
    assert [v.description for v in files.read_versions(model)] == ["later"]


def test_an_old_unchanged_record_is_served_from_the_cache(tmp_path: Path) -> None:
    files = RegistryFiles(tmp_path)
    model = files.model_path("churn")
    path = files.write_version(model, _version("Production"))
    old = time.time_ns() - 10 * layout.RACY_NS
    os.utime(path, ns=(old, old))
    first = files.read_versions(model)
    assert files.read_versions(model)[0] is first[0]  # neither read nor parsed again
    path.write_text(path.read_text().replace("Production", "Staging"))  # a new time
    assert files.read_versions(model)[0].current_stage == "Staging"
