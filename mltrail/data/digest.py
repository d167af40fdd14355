"""Dataset digests, computed as MLflow computes them (so one frame has one digest in
both): the first 8 hex digits of an MD5 over the data's hashes, its size and columns."""

from __future__ import annotations

import hashlib
from typing import Any

#: Only this many rows (pandas) or values (numpy) enter the digest, as in MLflow.
MAX_ROWS = 10000


def md5_digest(elements: list[Any]) -> str:
    """The first 8 hex digits of the MD5 of the elements' bytes, in order."""
    md5 = hashlib.md5(usedforsecurity=False)
    for element in elements:
        md5.update(element)
    return md5.hexdigest()[:8]


def pandas_digest(df: Any) -> str:
    """The digest of a DataFrame: its first 10,000 rows of text and number columns
    (hashed by pandas), its length and its column names."""
    import numpy as np
    import pandas as pd

    head = df.head(MAX_ROWS)
    text_columns = head.columns[df.map(lambda v: type(v) is str).all(axis=0)]
    number_columns = head.select_dtypes(include=[np.number]).columns
    kept = head[text_columns.union(number_columns)]
    return md5_digest(
        [pd.util.hash_pandas_object(kept).values, np.int64(len(df))]
        + [str(c).encode() for c in df.columns]
    )


def numpy_digest(features: Any, targets: Any = None) -> str:
    """The digest of arrays (or dicts of arrays): their first 10,000 values and shapes."""
    import numpy as np
    import pandas as pd

    parts: list[Any] = []

    def add(array: Any) -> None:
        flat = array.flatten()[:MAX_ROWS]
        try:
            parts.append(pd.util.hash_array(flat))
        except TypeError:
            parts.append(np.int64(flat.size))
        parts.extend(np.int64(n) for n in array.shape)

    for item in (features, targets):
        if item is None:
            continue
        if isinstance(item, dict):
            for key in sorted(item):
                add(item[key])
        else:
            add(item)
    return md5_digest(parts)
