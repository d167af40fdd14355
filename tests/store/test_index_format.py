"""The run index's cache file: whatever runs it is rewritten with (kept rows in any order,
runs read again), every column and entry reads back as written, across a file round trip."""

from __future__ import annotations

import hashlib
import marshal
import zlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mltrail.search_syntax import ATTRIBUTE, METRIC, PARAM, TAG
from mltrail.store import indexfile

KEY = b"k" * 32
names = st.sampled_from(["a", "b", "lr", "x/y", "ü"])
texts = st.text(max_size=8)
numbers = st.floats(allow_nan=False) | st.integers(-(2**62), 2**62)


def _digest(payload: Any, size: int = 32) -> bytes:
    return hashlib.blake2b(payload, key=KEY, digest_size=size).digest()


@st.composite
def entries(draw: st.DrawFn, run_id: str) -> dict[str, Any]:
    rec = {
        "run_id": run_id,
        "run_name": draw(texts),
        "experiment_id": draw(st.sampled_from(["0", "1"])),
        "status": "FINISHED",
        "start_time": draw(st.integers(0, 2**45)),
        "end_time": draw(st.none() | st.integers(0, 2**45)),
        "lifecycle_stage": "active",
        "user": draw(texts),
    }
    summary = st.tuples(numbers, st.integers(0, 9), st.integers(0, 9), numbers, numbers,
                        st.integers(1, 9))  # fmt: skip
    return {
        "rec": rec,
        "params": draw(st.dictionaries(names, texts, max_size=3)),
        "tags": draw(st.dictionaries(names, texts, max_size=3)),
        "metrics": draw(st.dictionaries(names, summary, max_size=3)),
    }


@st.composite
def generations(draw: st.DrawFn) -> list[dict[str, dict[str, Any]]]:
    """Two or three states of a store: run id → entry."""
    ids = [f"{n:032x}" for n in range(draw(st.integers(0, 8)))]
    states = []
    for _ in range(draw(st.integers(2, 3))):
        present = draw(st.lists(st.sampled_from(ids), unique=True)) if ids else []
        states.append({run_id: draw(entries(run_id)) for run_id in present})
    return states


def _check(cache: indexfile.Cache, state: dict[str, dict[str, Any]]) -> None:
    assert sorted(cache.ids) == sorted(state)
    for kind, field in ((PARAM, "params"), (TAG, "tags"), (METRIC, "metrics")):
        for key in {"a", "b", "lr", "x/y", "ü"}:
            # asked before the column is decoded: the header answers
            every = cache.every_run_has(kind, key)
            assert every == isinstance(cache.column(kind, key), list)
            if state:
                assert every == all(key in e[field] for e in state.values())
    for row, run_id in enumerate(cache.ids):
        e = state[run_id]
        assert marshal.loads(cache.entry(row)) == (e["rec"], e["params"], e["tags"], e["metrics"])
        for kind, field in ((PARAM, "params"), (TAG, "tags")):
            for key in {"a", "b", "lr", "x/y", "ü"}:
                column = cache.column(kind, key)
                got = column[row] if isinstance(column, list) else column.get(row)
                assert got == e[field].get(key)
        for key in {"a", "lr"}:
            column = cache.column(METRIC, key)
            got = column[row] if isinstance(column, list) else column.get(row)
            assert got == (e["metrics"][key][0] if key in e["metrics"] else None)
        column = cache.column(ATTRIBUTE, "user_id")
        got = column[row] if isinstance(column, list) else column.get(row)
        assert got == e["rec"]["user"]
        assert cache.signature(run_id) == _sig(run_id, e)


def _sig(run_id: str, entry: dict[str, Any]) -> bytes:
    """A stand-in for the record files' stats: changes whenever the entry does."""
    n, content = int(run_id, 16), zlib.crc32(marshal.dumps(entry))
    return indexfile.SIG.pack(n, content, 1, 0, 0, -1, n + 1, 5, 7)


@settings(max_examples=60, deadline=None)
@given(generations(), st.randoms(use_true_random=False))
def test_rewrites_read_back_what_they_hold(states: list[Any], rnd: Any) -> None:
    cache = indexfile.Cache.empty(_digest)
    for state in states:
        order: list[Any] = []
        positions = cache.positions
        for run_id, entry in state.items():
            at = positions.get(run_id)
            same = at is not None and cache.sigs[at * indexfile.SIG.size :][
                : indexfile.SIG.size
            ] == (_sig(run_id, entry))
            order.append(at if same else (run_id, _sig(run_id, entry), entry))
        rnd.shuffle(order)
        cache = cache.rewritten(order)
        parsed = indexfile.Cache.parse(cache.data, _digest)  # as the next process reads it
        assert parsed is not None
        _check(parsed, state)


def test_a_file_signed_with_another_key_is_not_parsed() -> None:
    cache = indexfile.Cache.empty(_digest).rewritten([])
    assert indexfile.Cache.parse(cache.data, _digest) is not None

    def other(payload: Any, size: int = 32) -> bytes:
        return hashlib.blake2b(payload, key=b"o" * 32, digest_size=size).digest()

    assert indexfile.Cache.parse(cache.data, other) is None


@st.composite
def added_runs(draw: st.DrawFn) -> list[indexfile.Added]:
    ids = draw(st.lists(st.integers(0, 99), unique=True, max_size=5))
    return [
        indexfile.Added.of(place, f"{n:032x}", _sig(f"{n:032x}", e), e)
        for place, n in enumerate(sorted(ids))
        for e in [draw(entries(f"{n:032x}"))]
    ]


@settings(max_examples=60, deadline=None)
@given(added_runs(), st.data())
def test_the_added_file_reads_back_only_for_the_cache_it_extends(
    added: list[indexfile.Added], data: st.DataObject
) -> None:
    cache = indexfile.Cache.empty(_digest).rewritten([("0" * 32, _sig("0", {}), _entry())])
    other = indexfile.Cache.empty(_digest).rewritten([("1" * 32, _sig("1", {}), _entry())])
    blob = indexfile.Added.file_of(added, cache, _digest)
    assert indexfile.Added.parse_all(blob, cache, _digest) == added
    assert indexfile.Added.parse_all(blob, other, _digest) == []  # it extends another file
    if added:
        at = data.draw(st.integers(0, len(blob) - 1))
        flipped = blob[:at] + bytes([blob[at] ^ 0x01]) + blob[at + 1 :]
        assert indexfile.Added.parse_all(flipped, cache, _digest) == []
        cut = data.draw(st.integers(0, len(blob) - 1))
        assert indexfile.Added.parse_all(blob[:cut], cache, _digest) == []


def _entry() -> dict[str, Any]:
    rec = {"run_id": "0" * 32, "run_name": "r", "experiment_id": "0", "status": "FINISHED",
           "start_time": 1, "end_time": 2, "lifecycle_stage": "active", "user": "u"}  # fmt: skip
    return {"rec": rec, "params": {}, "tags": {}, "metrics": {}}


def test_a_cache_written_before_it_named_its_full_columns_still_counts_them() -> None:
    """Older caches' headers do not say which columns every run has: the column is read."""
    columns = {
        f"{PARAM}\0a": (None, ["1", "1", "1"]),
        f"{PARAM}\0b": ([0], ["2"]),
    }
    cache = indexfile.Cache.build(
        [f"{n:032x}" for n in range(3)], bytes(indexfile.SIG.size * 3),
        [b""] * 3, [b""] * 3, columns, _digest,
    )  # fmt: skip
    start = len(indexfile.MAGIC) + 32
    (size,) = indexfile.HEAD.unpack_from(cache.data, start)
    header = marshal.loads(
        cache.data[start + indexfile.HEAD.size : start + indexfile.HEAD.size + size]
    )
    assert header.pop("full") == [f"column:{PARAM}\0a"]
    older = marshal.dumps(header)
    data = b"".join([
        indexfile.MAGIC, _digest(older), indexfile.HEAD.pack(len(older)), older,
        cache.data[start + indexfile.HEAD.size + size :],
    ])  # fmt: skip
    for parsed in (
        indexfile.Cache.parse(cache.data, _digest),
        indexfile.Cache.parse(data, _digest),
    ):
        assert parsed is not None
        assert parsed.every_run_has(PARAM, "a") and not parsed.every_run_has(PARAM, "b")
        assert not parsed.every_run_has(PARAM, "c")
