"""Every registry change is one git commit: a readable title, and a machine-readable
trailer the history reader parses (so a model name with spaces never confuses it)::

    model churn v3: Staging -> Production (archived v2)

    Mltrail-Registry: {"action":"transition","archived":[2],"from":"Staging","model":"churn",...}
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mltrail import git
from mltrail.errors import GitError

if TYPE_CHECKING:
    from mltrail.store import FileStore

log = logging.getLogger(__name__)
TRAILER = "Mltrail-Registry"


def message(title: str, event: dict[str, Any]) -> str:
    data = json.dumps(event, sort_keys=True, separators=(",", ":"))  # ASCII: one line
    return f"{title}\n\n{TRAILER}: {data}\n"


def parse_trailer(body: str) -> dict[str, Any] | None:
    """The event a registry commit message carries, or None (e.g. a hand-made commit)."""
    for line in reversed(body.split("\n")):
        if line.startswith(TRAILER + ":"):
            try:
                event = json.loads(line[len(TRAILER) + 1 :])
            except ValueError:
                return None
            return event if isinstance(event, dict) and "action" in event else None
    return None


def record_change(
    store: FileStore, paths: Sequence[Path], title: str, event: dict[str, Any]
) -> str | None:
    """Commit ``paths`` now, if auto-commit is on and the store is in git; the commit id.

    A failed commit warns and leaves the files for ``mltrail commit`` (the change is made).
    """
    if not store.config.auto_commit or store.repo_root is None:
        return None
    store.flush()  # runs ended before this change are committed before it
    try:
        return git.commit_paths(store.repo_root, paths, message(title, event))
    except GitError as e:
        log.warning("%s; the registry files stay and `mltrail commit` will commit them.", e)
        return None
