"""Writing and reading a scikit-learn model file: skops (default), cloudpickle or pickle.

skops refuses to load types outside its default allow-list (e.g. the ``Tree`` inside
every tree ensemble) unless they are passed as ``trusted``.  The author saving a model
vouches for it, so :func:`dump` records the types the saved file needs as the flavor's
``skops_trusted_types``, the MLmodel key MLflow 3 reads, so both tools load it.
pickle and cloudpickle run arbitrary code when loaded: load only files you trust.
"""

from __future__ import annotations

import logging
import pickle
import warnings
from pathlib import Path
from typing import Any

from mltrail.errors import InvalidParameterValue, MltrailError
from mltrail.models import requirements

log = logging.getLogger(__name__)

SKOPS = "skops"
CLOUDPICKLE = "cloudpickle"
PICKLE = "pickle"
FORMATS = (SKOPS, CLOUDPICKLE, PICKLE)
FILE_NAMES = {SKOPS: "model.skops", CLOUDPICKLE: "model.pkl", PICKLE: "model.pkl"}


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidParameterValue(
            f"Unknown serialization_format {fmt!r}: use one of {', '.join(FORMATS)}."
        )
    return fmt


def dump(
    model: Any, path: Path, fmt: str, trusted: list[str] | None = None
) -> tuple[list[str] | None, set[str]]:
    """Write ``model`` to ``path``; (the skops types to trust on load, modules it needs)."""
    if fmt == SKOPS:
        return _dump_skops(model, path, trusted)
    if fmt == CLOUDPICKLE:
        import cloudpickle

        data = cloudpickle.dumps(model, protocol=pickle.DEFAULT_PROTOCOL)
    else:
        data = pickle.dumps(model, protocol=pickle.DEFAULT_PROTOCOL)
    path.write_bytes(data)
    return None, requirements.modules_in_pickle(data)


_warned_no_skops = False


def default_format() -> str:
    """skops, as in MLflow 3; cloudpickle, with one warning per process, where skops is
    not installed: a training script must not fail at its last line for packaging."""
    global _warned_no_skops
    try:
        import skops.io  # noqa: F401
    except ImportError:
        if not _warned_no_skops:
            _warned_no_skops = True
            warnings.warn(
                "skops is not installed, so this scikit-learn model is saved with "
                "cloudpickle (loading it runs code from the file: load only models you "
                "trust). For skops' safer default: pip install 'mltrail[sklearn]'.",
                UserWarning,
                stacklevel=3,
            )
        return CLOUDPICKLE
    return SKOPS


def _skops_io() -> Any:
    try:
        import skops.io
    except ImportError:
        raise MltrailError(
            "The skops format needs the skops package: pip install 'mltrail[sklearn]' "
            "(or save with serialization_format='cloudpickle')."
        ) from None
    return skops.io


def _dump_skops(
    model: Any, path: Path, trusted: list[str] | None
) -> tuple[list[str] | None, set[str]]:
    skops_io = _skops_io()
    try:
        skops_io.dump(model, path)
        needed = sorted({*skops_io.get_untrusted_types(file=path), *(trusted or [])})
        skops_io.load(path, trusted=needed or None)  # the file must load as it will later
    except Exception as e:  # skops raises many types; the cause is chained below
        path.unlink(missing_ok=True)
        raise MltrailError(
            f"The model {type(model).__name__} cannot be saved in the skops format ({e}); "
            "skops handles scikit-learn objects and top-level functions/classes only. "
            "Use serialization_format='cloudpickle' (loading it then runs code)."
        ) from e
    if needed:
        log.info("Recording %s as trusted skops types of this model.", ", ".join(needed))
    return needed or None, requirements.modules_in_skops(path)


def load(path: Path, fmt: str, trusted: list[str] | None = None) -> Any:
    """Read a model file written in ``fmt`` (skops loads only ``trusted`` extra types)."""
    check_format(fmt)
    if fmt == SKOPS:
        return _skops_io().load(path, trusted=list(trusted) if trusted else None)
    with open(path, "rb") as f:
        if fmt == CLOUDPICKLE:
            import cloudpickle

            return cloudpickle.load(f)
        return pickle.load(f)
