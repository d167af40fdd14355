"""The record stats the run index compares: the same whether one process takes them or a
helper process takes half, whatever the helper does; and their wire format round-trips."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mltrail.store import recordstats

FILES = ("run.yaml", "params.yaml", "tags.yaml")


def _store(root: Path) -> list[str]:
    """Shards holding runs in every state a listing meets; their paths."""
    for shard in ("0a", "1b", "2c", "3d", "4e"):
        for n in range(3):
            run = root / shard / f"run{n}{shard}"
            run.mkdir(parents=True)
            (run / "run.yaml").write_text(f"run {n}\n" * (n + 1))
            if n != 1:
                (run / "params.yaml").write_text("lr: '0.1'\n")
        (root / shard / ".hidden").mkdir()  # not a run
        (root / shard / "notes.txt").write_text("not a run")
    (root / "1b" / "being-made").mkdir()  # a run folder without its record yet
    (root / ".git-ish").mkdir()
    return recordstats.run_shards(os.fspath(root))


def test_a_listing_is_split_between_the_cores_up_to_a_limit() -> None:
    cores = len(os.sched_getaffinity(0))
    assert recordstats.processes() == min(cores, recordstats.MOST_PROCESSES)


def test_the_shards_are_listed_sorted_without_hidden_folders(tmp_path: Path) -> None:
    shards = _store(tmp_path)
    assert [os.path.basename(s) for s in shards] == ["0a", "1b", "2c", "3d", "4e"]
    assert recordstats.run_shards(os.fspath(tmp_path / "missing")) == []


def test_helper_processes_take_the_same_stats(tmp_path: Path) -> None:
    shards = _store(tmp_path)
    alone = recordstats.take(shards, FILES)
    assert alone.counts == [3, 4, 3, 3, 3]
    assert "being-made" in alone.names and ".hidden" not in alone.names
    assert alone.kinds[alone.names.index("being-made")] == recordstats.NO_RECORD
    for processes in (1, 2, 3, 5, 6):  # 6: a helper with no shard to take
        assert recordstats.take_in_parallel(shards, FILES, processes) == alone


def test_the_helper_process_answers_on_its_own(tmp_path: Path) -> None:
    shards = _store(tmp_path)
    answer = subprocess.run(
        recordstats.helper_command(shards[2:], FILES), capture_output=True, check=True
    ).stdout
    assert recordstats.decode(answer, 3, len(FILES)) == recordstats.take(shards[2:], FILES)


def test_the_stats_change_with_an_edit_in_place(tmp_path: Path) -> None:
    shards = _store(tmp_path)
    before = recordstats.take_in_parallel(shards, FILES, 2)
    params = tmp_path / "4e" / "run24e" / "params.yaml"  # in the helper's half
    with open(params, "a") as f:  # same file, same inode: only its size and time move
        f.write("seed: '1'\n")
    after = recordstats.take_in_parallel(shards, FILES, 2)
    assert after.names == before.names and after.packed != before.packed


@pytest.mark.parametrize("program", ["/bin/false", "/nonexistent/python3"])
def test_a_helper_that_fails_or_cannot_start_costs_only_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, program: str
) -> None:
    shards = _store(tmp_path)
    alone = recordstats.take(shards, FILES)
    monkeypatch.setattr(sys, "executable", program)
    assert recordstats.take_in_parallel(shards, FILES, 2) == alone


def test_a_program_embedding_python_is_not_asked_to_help(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "/usr/bin/uwsgi")
    assert recordstats.processes() == 1


# folder names as os.fsdecode gives them: any bytes but NUL and "/"
folder_names = st.binary(min_size=1, max_size=12).filter(lambda b: b"\0" not in b and b"/" not in b)


@st.composite
def stats(draw: st.DrawFn) -> recordstats.Stats:
    counts = draw(st.lists(st.integers(0, 4), max_size=5))
    names = [os.fsdecode(draw(folder_names)) for _ in range(sum(counts))]
    kinds = bytes(draw(st.sampled_from([recordstats.RECORD, recordstats.NO_RECORD])) for _ in names)
    size = recordstats.packer(len(FILES)).size
    packed = draw(st.binary(min_size=size * len(names), max_size=size * len(names)))
    return recordstats.Stats(counts, names, kinds, packed)


@given(stats())
def test_the_helpers_answer_round_trips(sent: recordstats.Stats) -> None:
    data = recordstats.encode(sent)
    assert recordstats.decode(data, len(sent.counts), len(FILES)) == sent


@given(stats(), st.data())
def test_a_cut_or_padded_answer_is_refused(sent: recordstats.Stats, data: st.DataObject) -> None:
    encoded = recordstats.encode(sent)
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(ValueError):
        recordstats.decode(encoded[:cut], len(sent.counts), len(FILES))
    with pytest.raises(ValueError):
        recordstats.decode(encoded + b"\0", len(sent.counts), len(FILES))


def test_systems_without_relative_stats_take_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shards = _store(tmp_path)
    relative = recordstats.take(shards, FILES)
    monkeypatch.setattr(recordstats, "_BY_FOLDER", False)  # as on Windows
    assert recordstats.take([*shards, str(tmp_path / "gone")], FILES) == relative._replace(
        counts=[*relative.counts, 0]
    )


def _children() -> set[str]:
    """This process's Python child processes, zombies included (read from /proc; a
    background git a test's store started does not count)."""
    found = set()
    for pid in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        name, _, rest = stat.partition(" (")[2].rpartition(") ")
        if int(rest.split()[1]) == os.getpid() and name.startswith("python"):
            found.add(pid)
    return found


def test_no_helper_outlives_a_search_that_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shards = _store(tmp_path)

    def unreadable(shards: list[str], files: tuple[str, ...]) -> recordstats.Stats:
        raise PermissionError(13, "Permission denied", shards[0])

    before = _children()
    finish = recordstats.start(shards, FILES, 3)
    assert len(_children() - before) == 2
    monkeypatch.setattr(recordstats, "take", unreadable)
    with pytest.raises(PermissionError):
        finish()
    assert _children() - before == set(), "a helper was left running or unreaped"
