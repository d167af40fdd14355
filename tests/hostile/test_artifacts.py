"""A hostile store's artifacts: bad pointer files, symbolic links, paths that would leave
the run, names too long for the file system.

Each case plants the bad file in a real store, then runs the API, the CLI and
``mltrail build``: the bad file costs only its own entry (skipped with a warning naming
it, or refused with an error naming it), and nothing outside the store is ever read.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import mltrail
from mltrail.errors import CorruptedRecord, InvalidParameterValue, StoreError
from mltrail.store import FileStore
from mltrail.store.artifacts import RunArtifacts
from mltrail.store.pointers import MAX_POINTER_BYTES, Pointer, format_pointer, parse_pointer
from tests.conftest import GitRunner

#: Built at run time, so that no source file (a run may log this checkout's diff) holds them.
SECRET = "-".join(["TOP", "SECRET", "c0ffee", "not", "for", "the", "site"])
PASSWD = ":".join(["root", "x", "0", "0"])
DIGEST = "ab" * 32
#: name -> (pointer file bytes, with {secret} for the secret file's path; message part)
BAD_POINTERS = {
    "etc-passwd": (b"name: a\nsha256: /etc/passwd\nsize: 10\n", "not 64 lowercase hex"),
    "absolute": (b"name: a\nsha256: {secret}\nsize: 10\n", "not 64 lowercase hex"),
    "traversal": (b"sha256: ../../../../../../../../../../etc/passwd\nsize: 1\n", "not 64"),
    "uppercase": (b"sha256: " + DIGEST.upper().encode() + b"\nsize: 1\n", "not 64"),
    "short": (b"sha256: abc\nsize: 1\n", "not 64 lowercase hex"),
    "negative": (b"sha256: " + DIGEST.encode() + b"\nsize: -1\n", "not a non-negative integer"),
    "text-size": (b"sha256: " + DIGEST.encode() + b"\nsize: big\n", "non-negative integer"),
    "bool-size": (b"sha256: " + DIGEST.encode() + b"\nsize: true\n", "non-negative integer"),
    "list": (b"- /etc/passwd\n- 3\n", "expected a mapping, found list"),
    "not-yaml": (b"sha256: [unclosed\n", "not UTF-8 YAML"),
    "binary": (b"\xff\xfe\x00\x01", "not UTF-8 YAML"),
    "huge": (b"#" * (MAX_POINTER_BYTES + 10), f"larger than {MAX_POINTER_BYTES} bytes"),
}


@dataclass(frozen=True)
class Planted:
    store: FileStore
    run_id: str
    artifacts: Path  # the run's artifacts folder
    secret: Path  # a file outside the store that must never be read


@pytest.fixture
def script_in_repo(tracking: FileStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs see a script in the store's repository, not pytest in this checkout (whose
    uncommitted diff, tests included, a run would log and the site would show)."""
    monkeypatch.setattr(sys, "argv", [str(tracking.root.parent / "train.py")])


@pytest.fixture
def planted(tracking: FileStore, script_in_repo: None, tmp_path: Path) -> Planted:
    """A finished run with two good artifacts, and a secret file outside the store."""
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(SECRET + "\n")
    with mltrail.start_run() as run:
        mltrail.log_text("kept\n", "kept.txt")
        mltrail.log_text("also kept\n", "sub/ok.txt")
    rid = run.info.run_id
    mltrail.flush()  # the run's commit lands before anything is planted beside it
    return Planted(tracking, rid, tracking.run_path(rid) / "artifacts", secret)


def plant_pointer(planted: Planted, case: str, folder: str = "") -> Path:
    data = BAD_POINTERS[case][0].replace(b"{secret}", str(planted.secret).encode())
    pointer = planted.artifacts / folder / f"evil-{case}.txt.mltrail-pointer"
    pointer.write_bytes(data)
    return pointer


def plant_links(planted: Planted) -> dict[str, Path]:
    """Links to the secret file, its folder, a loop, a dangling target and a sibling."""
    arts = planted.artifacts
    links = {
        "file-link.txt": planted.secret,
        "dir-link": planted.secret.parent,
        "loop-link": arts / "loop-link",
        "dangling.txt": planted.secret.parent / "missing.txt",
        "sibling.txt": arts / "kept.txt",
        "sub/up-link": arts.parent,
    }
    for name, target in links.items():
        os.symlink(target, arts / name)
    return {name: arts / name for name in links}


def site_text(site: Path) -> str:
    return "\n".join(
        p.read_bytes().decode("utf-8", "replace") for p in site.rglob("*") if p.is_file()
    )


def cli_build(planted: Planted, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``mltrail build`` of the store, as CI runs it."""
    return subprocess.run(
        [sys.executable, "-m", "mltrail", "build", str(planted.store.root), "-o", str(out), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MLTRAIL_AUTO_COMMIT": "0"},
    )


def assert_site_is_clean(planted: Planted, site: Path) -> None:
    text = site_text(site)
    assert SECRET not in text
    assert PASSWD not in text
    copied = site / "runs" / planted.run_id / "artifacts"
    assert (copied / "kept.txt").read_text() == "kept\n"
    assert (copied / "sub" / "ok.txt").read_text() == "also kept\n"


# --- pointer files ---------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(BAD_POINTERS))
def test_a_bad_pointer_is_refused_by_name(
    planted: Planted, case: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pointer = plant_pointer(planted, case)
    client = mltrail.Client()
    with caplog.at_level(logging.WARNING):
        listed = [i.path for i in client.list_artifacts(planted.run_id)]
    assert listed == ["kept.txt", "sub"]
    assert str(pointer) in caplog.text
    with pytest.raises(CorruptedRecord) as e:
        client.download_artifacts(planted.run_id, f"evil-{case}.txt", str(tmp_path / "one"))
    assert str(pointer) in str(e.value)
    assert BAD_POINTERS[case][1] in str(e.value)
    assert not (tmp_path / "one" / f"evil-{case}.txt").exists()
    whole = Path(client.download_artifacts(planted.run_id, "", str(tmp_path / "all")))
    assert sorted(p.relative_to(whole).as_posix() for p in whole.rglob("*")) == [
        "kept.txt",
        "sub",
        "sub/ok.txt",
    ]


def test_bad_pointers_cost_only_their_own_entry_in_the_site(
    planted: Planted, tmp_path: Path
) -> None:
    pointers = [plant_pointer(planted, case) for case in sorted(BAD_POINTERS)]
    pointers.append(plant_pointer(planted, "etc-passwd", "sub"))
    result = cli_build(planted, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    for pointer in pointers:
        assert str(pointer) in result.stderr
    assert "Traceback" not in result.stderr
    assert_site_is_clean(planted, tmp_path / "site")
    page = (tmp_path / "site" / "runs" / planted.run_id / "index.html").read_text()
    assert "evil-" not in page


def test_a_blob_that_does_not_match_its_hash_is_refused(planted: Planted, tmp_path: Path) -> None:
    arts = planted.store.artifacts(planted.run_id)
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 4096)
    arts.threshold = 10  # large: stored by hash, a pointer in the run folder
    arts.log_file(big)
    pointer = yaml.safe_load((planted.artifacts / "big.bin.mltrail-pointer").read_text())
    arts.blob_path(pointer["sha256"]).write_bytes(b"tampered")
    with pytest.raises(StoreError, match="does not match its sha256"):
        arts.download("big.bin", tmp_path / "dl")
    assert not (tmp_path / "dl" / "big.bin").exists()


def test_blob_paths_stay_in_the_artifact_store(tmp_path: Path) -> None:
    arts = RunArtifacts(tmp_path / "run", tmp_path / "cas", threshold=1)
    assert arts.blob_path(DIGEST) == tmp_path / "cas" / "sha256" / "ab" / DIGEST
    for bad in ("/etc/passwd", "../" * 20 + "etc/passwd", DIGEST.upper(), DIGEST[:-1] + "/"):
        with pytest.raises(InvalidParameterValue, match="not 64 hex digits"):
            arts.blob_path(bad)


@given(
    digest=st.text("0123456789abcdef", min_size=64, max_size=64),
    size=st.integers(min_value=0, max_value=2**63),
    name=st.text(max_size=80),
)
def test_valid_pointers_round_trip(digest: str, size: int, name: str) -> None:
    pointer = Pointer(digest, size, name)
    assert parse_pointer(format_pointer(pointer).encode(), "p") == pointer


def _assert_safe(data: bytes, tmp: Path) -> None:
    try:
        pointer = parse_pointer(data, "evil.mltrail-pointer")
    except CorruptedRecord as e:
        assert "evil.mltrail-pointer" in str(e)
        return
    blob = RunArtifacts(tmp / "run", tmp / "cas", 1).blob_path(pointer.sha256)
    assert blob.parent.parent == tmp / "cas" / "sha256"
    assert pointer.size >= 0


@given(data=st.binary(max_size=MAX_POINTER_BYTES + 100))
def test_arbitrary_bytes_never_escape(data: bytes) -> None:
    _assert_safe(data, Path("/nonexistent"))


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(),
    st.lists(st.integers(), max_size=3),
    st.sampled_from(["/etc/passwd", "../../x", DIGEST, DIGEST.upper(), "-1", "1e400"]),
)


@given(
    record=st.one_of(
        st.dictionaries(st.sampled_from(["sha256", "size", "name", "other"]), _VALUES),
        _VALUES,
    )
)
def test_arbitrary_records_never_escape(record: object) -> None:
    _assert_safe(yaml.safe_dump(record).encode(), Path("/nonexistent"))


# --- symbolic links ----------------------------------------------------------------------


def test_links_are_skipped_in_listings_and_refused_by_name(
    planted: Planted, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    links = plant_links(planted)
    client = mltrail.Client()
    with caplog.at_level(logging.WARNING):
        assert [i.path for i in client.list_artifacts(planted.run_id)] == ["kept.txt", "sub"]
        assert [i.path for i in client.list_artifacts(planted.run_id, "sub")] == ["sub/ok.txt"]
    for name, link in links.items():
        assert f"{link} is a symbolic link" in caplog.text, name
        with pytest.raises(StoreError, match="symbolic link") as e:
            client.download_artifacts(planted.run_id, name, str(tmp_path / "one"))
        assert str(link) in str(e.value)
    with pytest.raises(StoreError, match="dir-link is a symbolic link"):
        client.download_artifacts(planted.run_id, "dir-link/secret.txt", str(tmp_path / "one"))
    whole = Path(client.download_artifacts(planted.run_id, "", str(tmp_path / "all")))
    names = sorted(p.relative_to(whole).as_posix() for p in whole.rglob("*"))
    assert names == ["kept.txt", "sub", "sub/ok.txt"]
    assert not any(p.is_symlink() for p in whole.rglob("*"))


def test_links_cost_only_their_own_entry_in_the_site(planted: Planted, tmp_path: Path) -> None:
    links = plant_links(planted)
    result = cli_build(planted, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    for link in links.values():
        assert f"{link} is a symbolic link" in result.stderr
    assert_site_is_clean(planted, tmp_path / "site")
    assert not any(p.is_symlink() for p in (tmp_path / "site").rglob("*"))


def _commit_and_build(planted: Planted, out: Path, git: GitRunner) -> str:
    """Commit the planted files (a contributor's pull request) and build that commit."""
    repo = planted.store.root.parent
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "A contributor's pull request")
    result = cli_build(planted, out, "--ref", "HEAD")
    assert result.returncode == 0, result.stderr
    assert_site_is_clean(planted, out)
    return result.stderr


def test_bad_pointers_of_a_pull_request_build_from_git(
    planted: Planted, tmp_path: Path, git: GitRunner
) -> None:
    pointers = [plant_pointer(planted, case) for case in ("etc-passwd", "absolute", "list")]
    stderr = _commit_and_build(planted, tmp_path / "site", git)
    for path in pointers:
        assert path.relative_to(planted.store.root).as_posix() in stderr


def test_links_of_a_pull_request_build_from_git(
    planted: Planted, tmp_path: Path, git: GitRunner
) -> None:
    links = plant_links(planted)
    stderr = _commit_and_build(planted, tmp_path / "site", git)
    for path in links.values():
        assert path.relative_to(planted.store.root).as_posix() in stderr


def test_an_artifacts_folder_that_is_a_link_is_refused(planted: Planted, tmp_path: Path) -> None:
    with mltrail.start_run() as run:
        mltrail.log_param("p", 1)
    arts = planted.store.run_path(run.info.run_id) / "artifacts"
    os.symlink(planted.secret.parent, arts)
    with pytest.raises(StoreError, match="artifacts is a symbolic link"):
        mltrail.Client().list_artifacts(run.info.run_id)
    result = cli_build(planted, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    assert f"{arts} is a symbolic link" in result.stderr
    assert_site_is_clean(planted, tmp_path / "site")


def test_deeply_nested_folders_do_not_break_the_build(planted: Planted, tmp_path: Path) -> None:
    deep = planted.artifacts.joinpath(*["d"] * 300)
    deep.mkdir(parents=True)
    (deep / "bottom.txt").write_text("bottom\n")
    whole = Path(mltrail.Client().download_artifacts(planted.run_id, "d", str(tmp_path / "dl")))
    assert (whole.joinpath(*["d"] * 299) / "bottom.txt").read_text() == "bottom\n"
    result = cli_build(planted, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    assert "deeper than 32 folders" in result.stderr
    assert_site_is_clean(planted, tmp_path / "site")


# --- paths passed to the API -------------------------------------------------------------

BAD_PATHS = {
    "../escape.txt": "'..' would leave the run's artifacts",
    "a/../../escape.txt": "'..' would leave",
    "/tmp/escape.txt": "must be relative",
    "C:/escape.txt": "must be relative",
    "nul\x00byte.txt": "NUL characters are not allowed",
    "x" * 300 + ".txt": "too long for the file system",
    "/".join(["d" * 200] * 30) + "/deep.txt": "too long for the file system",
}


def _store_files(planted: Planted) -> list[str]:
    return sorted(
        p.relative_to(planted.store.root).as_posix() for p in planted.store.root.rglob("*")
    )


@pytest.mark.parametrize("path", list(BAD_PATHS), ids=lambda p: repr(p)[:30])
def test_bad_artifact_paths_are_refused_with_one_line(
    planted: Planted, path: str, tmp_path: Path
) -> None:
    before = _store_files(planted)
    local = tmp_path / "local.txt"
    local.write_text("data\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "f.txt").write_text("f\n")
    client = mltrail.Client()
    calls = {
        "log_text": lambda: client.log_text(planted.run_id, "x", path),
        "log_dict": lambda: client.log_dict(planted.run_id, {"a": 1}, path + ".json"),
        "log_artifact": lambda: client.log_artifact(planted.run_id, str(local), path),
        "log_artifacts": lambda: client.log_artifacts(planted.run_id, str(folder), path),
        "download": lambda: client.download_artifacts(planted.run_id, path, str(tmp_path / "d")),
    }
    for what, call in calls.items():
        with pytest.raises(InvalidParameterValue) as e:
            call()
        message = str(e.value)
        assert BAD_PATHS[path] in message, what
        assert "\n" not in message, what
        assert repr(path)[:12] in message, what  # names the path
    assert _store_files(planted) == before  # nothing half-written, not even a folder
    assert not (tmp_path.parent / "escape.txt").exists()


def test_a_folder_with_one_bad_name_logs_nothing(planted: Planted, tmp_path: Path) -> None:
    before = _store_files(planted)
    folder = tmp_path / "folder"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "first.txt").write_text("1\n")
    (folder / "b.txt").write_text("2\n")
    (folder / ("z" * 250)).write_text("3\n")  # fits here, not under a deep artifact path
    deep = "/".join(["d" * 200] * 19)
    with pytest.raises(InvalidParameterValue, match="too long for the file system"):
        mltrail.Client().log_artifacts(planted.run_id, str(folder), deep)
    assert _store_files(planted) == before


def test_fluent_calls_refuse_bad_paths_too(tracking: FileStore) -> None:
    with mltrail.start_run():
        with pytest.raises(InvalidParameterValue, match="too long for the file system"):
            mltrail.log_text("x", "n" * 256)
        with pytest.raises(InvalidParameterValue, match=r"'\.\.' would leave"):
            mltrail.log_dict({"a": 1}, "../d.json")
        mltrail.log_text("x", "n" * 255)  # the longest name file systems take
