"""Artifacts waiting for upload to a remote artifact store: the hook `mltrail sync` calls.

`mltrail sync` calls :func:`upload_pending_artifacts` after integrating the remote's
commits and before pushing, so that nothing it pushes points at a blob the artifact store
does not hold. A store whose `artifact_store` is a local folder (the only kind today) has
nothing to upload; the layer for remote artifact stores (fsspec URLs) plugs in here.
"""

from __future__ import annotations

from pathlib import Path

from mltrail.store.config import StoreConfig


def upload_pending_artifacts(root: Path, config: StoreConfig) -> int:
    """Upload the store's artifacts that are not yet in its artifact store; how many were.

    Args:
        root: the store's root folder.
        config: its settings (``artifact_store`` says where large artifacts go).

    Returns:
        The number of files uploaded: always 0 for a local artifact store.

    Example:
        >>> from mltrail.store.config import StoreConfig
        >>> upload_pending_artifacts(Path("runs"), StoreConfig())
        0
    """
    del root, config  # a local artifact store is written when the artifact is logged
    return 0
