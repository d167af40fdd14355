"""JSON that is safe inside a classic script: the data files and ``assets/chart-specs.js``.

Pages load their data with ``<script src>`` (``fetch()`` of ``file://`` is refused by
Chromium), so every data file is one call ``MLTRAIL.someFunction(<json>);``. The JSON is
deterministic (sorted keys, no spaces, ASCII only) and has ``<``, ``>`` and ``&`` written
as ``\\u003c``, ``\\u003e`` and ``\\u0026`` (and U+2028, U+2029 as ``\\u2028``, ``\\u2029``),
so no store value can end a script, open a comment or change what the script means, even
if the file is ever inlined into a page.
"""

from __future__ import annotations

import json
import re

_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}

_FUNCTION_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*")


def script_json(payload: object) -> str:
    """``payload`` as script-safe, deterministic JSON.

    NaN and infinities are refused (``ValueError``): JSON has no spelling for them, so the
    caller maps them to ``None`` first and says which they were (see ``gather.series``).
    """
    try:
        text = json.dumps(
            payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
        )
    except ValueError as e:
        raise ValueError(
            f"cannot write JSON for a script: {e}; map NaN and infinities to None first"
        ) from e
    return text.translate(_ESCAPES)


def script_call(fn_name: str, payload: object) -> str:
    """The text of a data file: ``fn_name(<script_json(payload)>);`` and a newline.

    ``fn_name`` must be a dotted JavaScript name such as ``MLTRAIL.runData``.
    """
    if not _FUNCTION_NAME.fullmatch(fn_name):
        raise ValueError(f"not a dotted JavaScript function name: {fn_name!r}")
    return f"{fn_name}({script_json(payload)});\n"
