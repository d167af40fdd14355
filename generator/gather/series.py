"""Metric histories for the site: spike-keeping downsampling and the full-history CSV.

A run page must stay small whatever the length of its histories, so a series longer than
``max_points`` is cut into equal buckets of consecutive points (by position in the
history, i.e. logging order); each bucket keeps its lowest and highest point, so every
spike survives, and the first and last points are always kept. NaN is not ordered, so a
bucket holding NaN also keeps its first NaN (a series with many NaN gets fewer, larger
buckets, to stay within ``max_points``); infinities are ordered and are kept as the
bucket's min or max. Non-finite values are ``None`` in :attr:`Series.value` and named in
:attr:`Series.nonfinite`.

In ``data.js`` a series is compact (docs/SITE.md, "Data files"): values keep their
exact IEEE 754 bits (NaN, infinities and -0.0 included), each written as its difference
(XOR) from the one before in base 85 (:func:`encode_floats`); steps and times are
written by :func:`encode_ints` as a first value and deltas, runs of equal deltas folded.
"""

from __future__ import annotations

import base64
import itertools
import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

#: Points per series on a run page (the full history stays downloadable as CSV).
MAX_POINTS = 1000
#: Integers JavaScript holds exactly; a step or time beyond is written as a string.
MAX_SAFE = 2**53 - 1
#: Equal deltas in a row from which :func:`encode_ints` writes ``[delta, count]``.
MIN_RUN = 3


@dataclass(frozen=True)
class Series:
    """One metric history as the pages get it (``runs/<id>/data.js``)."""

    step: list[int]
    time: list[int]
    #: ``None`` where the logged value was NaN or an infinity (see ``nonfinite``).
    value: list[float | None]
    #: How many points the full history has.
    count: int
    downsampled: bool
    #: Index in the lists above → ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``.
    nonfinite: dict[int, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The series' entry in ``data.js``: steps and times as :func:`encode_ints`,
        values as :func:`encode_floats` (``MLTRAIL.runData`` decodes them); ``count``
        and ``downsampled`` only for a downsampled series (else: every point, false)."""
        values = [float(self.nonfinite[i]) if v is None else v for i, v in enumerate(self.value)]
        entry: dict[str, Any] = {
            "step": encode_ints(self.step),
            "time": encode_ints(self.time),
            "value": encode_floats(values),
        }
        if self.downsampled:
            entry.update(count=self.count, downsampled=True)
        return entry


#: Base 85 digits (RFC 1924's, with ``.``, ``/`` and ``:`` for ``&``, ``<`` and ``>``,
#: which a data file would have to escape as six characters each).
_B85_TO_DATA_JS = str.maketrans("&<>", "./:")
_DATA_JS_TO_B85 = str.maketrans("./:", "&<>")


def encode_floats(values: Sequence[float]) -> str:
    """The values' exact float64 bits, each XOR the one before, in base 85.

    Bytes, in base 85 (4 bytes to 5 digits, a last group of k bytes to k + 1 digits):
    the number ``s`` of low zero bytes every value has (8 when all are 0.0), then one
    nibble per value (high nibble first, two to a byte): how many bytes ``n`` its XOR
    with the value before (0 for the first) has once its ``s`` low bytes are dropped,
    then those ``n`` bytes of each value, most significant first. Consecutive points
    of a history share their sign, exponent and top bits, so most values take 6 or 7
    bytes; values that were float32 or small integers take fewer.

    >>> encode_floats([1.0, 1.0, -0.0])
    '1|T3m@W1c'
    >>> decode_floats(encode_floats([0.1, float("inf"), -0.0]), 3)
    [0.1, inf, -0.0]
    """
    bits = [int.from_bytes(struct.pack(">d", v), "big") for v in values]
    if not bits:
        return ""
    low_zero_bytes = min(_low_zero_bytes(b) for b in bits)
    shift = 8 * low_zero_bytes
    xors = [(b ^ before) >> shift for b, before in zip(bits, [0, *bits], strict=False)]
    widths = [(x.bit_length() + 7) // 8 for x in xors]
    nibbles = [*widths, 0] if len(widths) % 2 else widths
    out = bytearray([low_zero_bytes])
    out.extend(hi << 4 | lo for hi, lo in zip(nibbles[::2], nibbles[1::2], strict=True))
    for x, width in zip(xors, widths, strict=True):
        out.extend(x.to_bytes(width, "big"))
    return base64.b85encode(bytes(out)).decode("ascii").translate(_B85_TO_DATA_JS)


def decode_floats(text: str, count: int) -> list[float]:
    """The ``count`` values :func:`encode_floats` wrote into ``text`` (for tests and
    readers of ``data.js``; the site decodes them in ``mltrail.js``)."""
    if not count:
        return []
    data = base64.b85decode(text.translate(_DATA_JS_TO_B85))
    shift = 8 * data[0]
    pos = 1 + (count + 1) // 2
    values, before = [], 0
    for i in range(count):
        width = data[1 + i // 2] >> 4 if i % 2 == 0 else data[1 + i // 2] & 15
        x = int.from_bytes(data[pos : pos + width], "big") << shift
        pos += width
        before ^= x
        values.append(struct.unpack(">d", before.to_bytes(8, "big"))[0])
    return values


def decode_ints(items: Sequence[int | str | list[int]]) -> list[int]:
    """The numbers :func:`encode_ints` wrote (for tests and readers of ``data.js``).

    >>> decode_ints([0, [1, 4], 6])
    [0, 1, 2, 3, 4, 10]
    """
    numbers: list[int] = []
    last = 0
    for item in items:
        if isinstance(item, list):
            for _ in range(item[1]):
                last += item[0]
                numbers.append(last)
        elif isinstance(item, str) or not numbers:  # the number itself
            last = int(item)
            numbers.append(last)
        else:
            last += item
            numbers.append(last)
    return numbers


def _low_zero_bytes(bits: int) -> int:
    if not bits:
        return 8
    return ((bits & -bits).bit_length() - 1) // 8


def encode_ints(numbers: Sequence[int]) -> list[int | str | list[int]]:
    """Integers as ``[first, delta | [delta, count] | "absolute", ...]``.

    Each item after the first gives the next number(s): a number is the difference to
    the one before, ``[d, n]`` is ``n`` numbers each ``d`` more than the one before, and
    a string is the number itself, written so when it (or its difference) is beyond
    what JavaScript holds exactly (:data:`MAX_SAFE`), or the number before it is.

    >>> encode_ints([0, 1, 2, 3, 4, 10])
    [0, [1, 4], 6]
    """
    items: list[int | str | list[int]] = []
    deltas: list[int | str] = []
    for i, n in enumerate(numbers):
        before = numbers[i - 1] if i else 0
        if abs(n) > MAX_SAFE or abs(before) > MAX_SAFE or abs(n - before) > MAX_SAFE:
            deltas.append(str(n))
        else:
            deltas.append(n - before)
    if deltas:
        items.append(deltas[0])
    for d, group in itertools.groupby(deltas[1:]):
        count = len(list(group))
        if isinstance(d, int) and count >= MIN_RUN:
            items.append([d, count])
        else:
            items.extend([d] * count)
    return items


def downsample(
    steps: Sequence[int],
    times: Sequence[int],
    values: Sequence[float],
    max_points: int = MAX_POINTS,
) -> Series:
    """At most ``max_points`` points of a history, keeping its spikes, first and last.

    The three sequences are parallel, in the history's order. A history of at most
    ``max_points`` points comes back whole.
    """
    n = len(values)
    if len(steps) != n or len(times) != n:
        raise ValueError(
            f"steps, times and values differ in length ({len(steps)}, {len(times)}, {n})"
        )
    if max_points < 8:  # room for first + last + at least two buckets of 3
        raise ValueError(f"max_points must be at least 8, not {max_points}")
    if n <= max_points:
        keep: Sequence[int] = range(n)
    else:
        keep = _kept_indices(values, max_points)
    return _series(steps, times, values, keep, n)


def _kept_indices(values: Sequence[float], max_points: int) -> list[int]:
    """Indices of the first and last points plus each bucket's min, max (and first NaN)."""
    n = len(values)
    nans = sum(1 for v in values if v != v)
    # Each bucket keeps 2 points, or 3 if it holds a NaN; at most ``nans`` buckets do.
    budget = max_points - 2
    buckets = max((budget - nans) // 2, budget // 3)
    has_nan = nans > 0
    inner = n - 2  # the points between the first and the last, which are always kept
    get = values.__getitem__
    keep = [0]
    for b in range(buckets):
        lo = 1 + b * inner // buckets
        hi = 1 + (b + 1) * inner // buckets
        if has_nan:
            chosen = _bucket_with_nan(values, lo, hi)
        else:
            low = min(range(lo, hi), key=get)
            high = max(range(lo, hi), key=get)
            chosen = [low, high] if low < high else [high, low] if high < low else [low]
        keep.extend(chosen)
    keep.append(n - 1)
    return keep


def _bucket_with_nan(values: Sequence[float], lo: int, hi: int) -> list[int]:
    ordered = [i for i in range(lo, hi) if values[i] == values[i]]
    chosen = set()
    if ordered:
        chosen.add(min(ordered, key=values.__getitem__))
        chosen.add(max(ordered, key=values.__getitem__))
    if len(ordered) < hi - lo:
        chosen.add(next(i for i in range(lo, hi) if values[i] != values[i]))
    return sorted(chosen)


def _series(
    steps: Sequence[int],
    times: Sequence[int],
    values: Sequence[float],
    keep: Sequence[int],
    count: int,
) -> Series:
    out_values: list[float | None] = []
    nonfinite: dict[int, str] = {}
    for j, i in enumerate(keep):
        v = values[i]
        if math.isfinite(v):
            out_values.append(v)
        else:
            out_values.append(None)
            nonfinite[j] = "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")
    return Series(
        step=[steps[i] for i in keep],
        time=[times[i] for i in keep],
        value=out_values,
        count=count,
        downsampled=len(keep) < count,
        nonfinite=nonfinite,
    )


class MetricPoint(Protocol):
    """What :func:`series_to_csv` reads from a point (``mltrail.entities.Metric`` has it)."""

    @property
    def step(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def value(self) -> float: ...


def series_to_csv(points: Iterable[MetricPoint]) -> str:
    """The full history as CSV: ``step,timestamp,value``, one line per point, in order.

    Values are written with ``repr``, which round-trips every float exactly and spells
    the non-finite ones ``nan``, ``inf`` and ``-inf`` (``float()`` and pandas read them).
    """
    lines = ["step,timestamp,value"]
    lines.extend(f"{p.step},{p.timestamp},{float(p.value)!r}" for p in points)
    lines.append("")
    return "\n".join(lines)
