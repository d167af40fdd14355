"""Turning in-memory objects (text, dicts, figures, images) into artifact bytes."""

from __future__ import annotations

import io
import json
import re
import uuid
from pathlib import PurePosixPath
from typing import Any

from mltrail.errors import InvalidParameterValue


def text_bytes(text: str) -> bytes:
    return str(text).encode("utf-8")


def dict_bytes(dictionary: Any, artifact_file: str) -> bytes:
    """JSON, or YAML when the file name ends in .yaml/.yml (as MLflow's log_dict)."""
    suffix = PurePosixPath(artifact_file).suffix.lower()
    if suffix in (".yaml", ".yml"):
        import yaml

        return yaml.safe_dump(dictionary, sort_keys=False, allow_unicode=True).encode("utf-8")
    try:
        return json.dumps(dictionary, indent=2, ensure_ascii=False).encode("utf-8")
    except TypeError as e:
        raise InvalidParameterValue(f"Cannot log {artifact_file!r} as JSON: {e}.") from e


def figure_bytes(
    figure: Any, artifact_file: str, save_kwargs: dict[str, Any] | None = None
) -> bytes:
    """A matplotlib (or plotly) figure rendered in the format its file name asks for."""
    fmt = PurePosixPath(artifact_file).suffix.lstrip(".").lower() or "png"
    buf = io.BytesIO()
    if hasattr(figure, "savefig"):
        figure.savefig(buf, format=fmt, **(save_kwargs or {}))
        return buf.getvalue()
    if hasattr(figure, "write_image") or hasattr(figure, "to_html"):
        if fmt == "html":
            return str(figure.to_html(**(save_kwargs or {}))).encode("utf-8")
        figure.write_image(buf, format=fmt, **(save_kwargs or {}))
        return buf.getvalue()
    raise InvalidParameterValue(
        f"Cannot log {type(figure).__name__} as a figure: pass a matplotlib or plotly figure."
    )


#: The longer side of the small copy MLflow's UI shows of a step-wise image.
COMPRESSED_IMAGE_SIZE = 256
_IMAGE_KEY = re.compile(r"[a-zA-Z0-9_\-./ ]+")


def image_bytes(image: Any, artifact_file: str) -> bytes:
    """A PIL image or a numpy array (HxW, HxWx3, HxWx4; uint8 or floats in [0, 1]) as PNG etc."""
    fmt = PurePosixPath(artifact_file).suffix.lstrip(".").lower() or "png"
    return _encode(_pil(image), fmt)


def stepwise_image_files(image: Any, key: str, step: int, timestamp: int) -> dict[str, bytes]:
    """MLflow's files for ``log_image(key=, step=)``: the PNG and a small WebP copy.

    The names are MLflow's (``images/<key>+step+<n>+timestamp+<ms>+<uuid>.png`` and
    ``...+compressed.webp``, ``/`` in the key as ``~``), unique per call.
    """
    if not _IMAGE_KEY.fullmatch(key):
        raise InvalidParameterValue(
            f"Invalid image key {key!r}: use letters, digits, _ - . space and / only."
        )
    pil = _pil(image)
    base = f"images/{key.replace('/', '~')}+step+{step}+timestamp+{timestamp}+{uuid.uuid4()}"
    small = pil.copy()
    small.thumbnail((COMPRESSED_IMAGE_SIZE, COMPRESSED_IMAGE_SIZE))
    return {f"{base}.png": _encode(pil, "png"), f"{base}+compressed.webp": _encode(small, "webp")}


def _pil(image: Any) -> Any:
    try:
        from PIL import Image
    except ImportError as e:
        raise InvalidParameterValue("log_image needs Pillow: `pip install pillow`.") from e
    return image if isinstance(image, Image.Image) else Image.fromarray(_to_uint8(image))


def _encode(image: Any, fmt: str) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format={"jpg": "jpeg"}.get(fmt, fmt))
    return buf.getvalue()


def _to_uint8(array: Any) -> Any:
    import numpy as np

    arr = np.asarray(array)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
        raise InvalidParameterValue(
            f"Cannot log an image of shape {arr.shape}: use HxW, HxWx1, HxWx3 or HxWx4."
        )
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.dtype.kind == "f":
        if arr.size and (arr.min() < 0 or arr.max() > 1):
            raise InvalidParameterValue("Float images must have values in [0, 1].")
        arr = (arr * 255).round()
    elif arr.dtype.kind in "iu" and arr.size and (arr.min() < 0 or arr.max() > 255):
        raise InvalidParameterValue("Integer images must have values in [0, 255].")
    return arr.astype(np.uint8)
