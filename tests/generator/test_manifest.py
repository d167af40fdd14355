"""The build manifest (``.mltrail-build.json``): its round trip, what a damaged or hostile
one costs (a full build, never a crash or a file removed outside the site), and the
check that a kept page's main file is still there."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mltrail_generator import build_site
from mltrail_generator.errors import SiteBuildError
from mltrail_generator.output.files import MANIFEST_VERSION, Manifest, PageResult, remove_stale
from mltrail_generator.urls import MANIFEST
from tests.generator.conftest import SAMPLE_STORE, files_of

# Paths as a page writes them: relative, "/"-separated, any character but NUL and "/".
_NAME = st.text(st.characters(exclude_characters="\0/"), min_size=1, max_size=8)
_PATH = st.lists(_NAME, min_size=1, max_size=3).map("/".join)
_FILES = st.dictionaries(_PATH, st.integers(0, 2**53), max_size=4)


def _written(key: str, digest: str, files: dict[str, int]) -> PageResult:
    return PageResult(key, digest, files, written=len(files), rendered=True)


@given(st.dictionaries(st.text(max_size=12), st.tuples(st.text(max_size=64), _FILES), max_size=9))
def test_a_manifest_reads_back_as_it_was_saved(
    pages: dict[str, tuple[str, dict[str, int]]],
) -> None:
    built = Manifest().updated([], [_written(k, d, f) for k, (d, f) in pages.items()])
    with tempfile.TemporaryDirectory() as tmp:
        built.save(Path(tmp))
        read = Manifest.load(Path(tmp))
    assert read == built and list(read.keys) == sorted(pages)
    rows = zip(read.keys, read.digests, read.files, read.sizes, strict=True)
    assert {key: (digest, files, size) for key, digest, files, size in rows} == {
        key: (digest, "\0".join(files), sum(files.values()))
        for key, (digest, files) in pages.items()
    }


def test_kept_rows_are_carried_over_and_the_rest_is_replaced() -> None:
    old = Manifest().updated(
        [], [_written(k, "d" + k, {f"{k}/index.html": 1, f"{k}/data.js": 2}) for k in "abc"]
    )
    new = old.updated([0, 2], [_written("b", "new", {"b/index.html": 5}), _written("d", "", {})])
    assert new == Manifest(
        ["a", "b", "c", "d"],
        ["da", "new", "dc", ""],
        ["a/index.html\0a/data.js", "b/index.html", "c/index.html\0c/data.js", ""],
        [3, 5, 3, 0],
    )


_VALID = {
    "version": MANIFEST_VERSION,
    "keys": ["k"],
    "digests": ["d"],
    "files": ["f"],
    "sizes": [1],
}


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"\xff\xfe not UTF-8",
        b"[" * 100_000,  # deeper than json's recursion limit
        b"null",
        json.dumps({"version": 1, "pages": {"k": {"digest": "d", "files": {"f": 1}}}}).encode(),
        json.dumps({**_VALID, "version": MANIFEST_VERSION + 1}).encode(),
        json.dumps({**_VALID, "sizes": [1, 2]}).encode(),
        json.dumps({**_VALID, "files": [["f"]]}).encode(),
        json.dumps({**_VALID, "sizes": [True]}).encode(),
        json.dumps({**_VALID, "digests": {"k": "d"}}).encode(),
        json.dumps({k: v for k, v in _VALID.items() if k != "keys"}).encode(),
        json.dumps(
            {
                **_VALID,
                "keys": ["k", "k"],
                "digests": ["d", "d"],
                "files": ["f", "g"],
                "sizes": [1, 2],
            }
        ).encode(),
    ],
)
def test_a_damaged_manifest_is_an_empty_one(tmp_path: Path, text: bytes) -> None:
    (tmp_path / MANIFEST).write_bytes(text)
    assert Manifest.load(tmp_path) == Manifest()
    (tmp_path / MANIFEST).write_bytes(json.dumps(_VALID).encode())
    assert Manifest.load(tmp_path) == Manifest(["k"], ["d"], ["f"], [1])


def test_a_manifest_never_removes_a_file_outside_the_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    (out / "runs").mkdir(parents=True)
    (out / "runs" / "gone.html").write_text("stale page")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / "link").symlink_to(tmp_path)
    paths = ["runs/gone.html", "../victim.txt", str(victim), "link/victim.txt"]
    old = Manifest(["page:x"], ["d"], ["\0".join(paths)], [1])
    assert remove_stale(out, old, kept=[], written=[]) == 1
    assert victim.read_text() == "keep me" and not (out / "runs").exists()


def test_a_build_over_a_damaged_manifest_is_a_full_build(store_copy: Path, tmp_path: Path) -> None:
    out, fresh = tmp_path / "site", tmp_path / "fresh"
    build_site(store_copy, out)
    (out / MANIFEST).write_text('{"version": 2, "keys": [')
    build_site(store_copy, out)
    build_site(store_copy, fresh)
    assert files_of(out) == files_of(fresh)
    assert Manifest.load(out) == Manifest.load(fresh) != Manifest()


def test_a_deleted_page_file_is_written_again(store_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site(store_copy, out)
    run_page = next((out / "runs").glob("*/index.html"))
    experiment_page = next((out / "experiments").glob("*/index.html"))
    expected = run_page.read_bytes(), experiment_page.read_bytes()
    run_page.unlink()
    experiment_page.unlink()
    summary = build_site(store_copy, out)
    assert (run_page.read_bytes(), experiment_page.read_bytes()) == expected
    assert summary.pages_written == 2


def test_no_two_pages_own_a_file(sample_site: Path) -> None:
    """What lets a rebuild remove a gone page's files without listing every kept one."""
    manifest = Manifest.load(sample_site)
    paths = [rel for files in manifest.files for rel in files.split("\0") if rel]
    assert len(paths) == len(set(paths)) > 100


def test_saving_replaces_a_link_in_place_of_the_manifest(tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / MANIFEST).symlink_to(victim)
    assert Manifest.load(out) == Manifest()
    saved = Manifest(["k"], ["d"], ["f"], [1])
    saved.save(out)
    assert victim.read_text() == "keep me" and not (out / MANIFEST).is_symlink()
    assert Manifest.load(out) == saved


def test_a_linked_folder_in_the_site_takes_no_page_outside(tmp_path: Path) -> None:
    """A site folder may come from anyone's branch: a folder of it linked elsewhere is
    refused by name (nothing written there), and --clean removes the link."""
    out, outside = tmp_path / "site", tmp_path / "outside"
    outside.mkdir()
    build_site(SAMPLE_STORE, out)
    shutil.rmtree(out / "runs")
    (out / "runs").symlink_to(outside)
    with pytest.raises(SiteBuildError, match=r"runs is a link .*--clean"):
        build_site(SAMPLE_STORE, out)
    assert list(outside.iterdir()) == []
    build_site(SAMPLE_STORE, out, clean=True)
    assert list(outside.iterdir()) == [] and not (out / "runs").is_symlink()
    assert len(list((out / "runs").glob("*/index.html"))) == 39


def test_a_link_where_a_page_goes_is_replaced_not_written_through(tmp_path: Path) -> None:
    out = tmp_path / "site"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    build_site(SAMPLE_STORE, out)
    run_data = next((out / "runs").glob("*/data.js"))
    for page in (out / "index.html", run_data):
        page.unlink()
        page.symlink_to(victim)
    (out / MANIFEST).unlink()  # every page is written again
    build_site(SAMPLE_STORE, out)
    assert victim.read_text() == "keep me"
    assert not (out / "index.html").is_symlink() and not run_data.is_symlink()
    assert (out / "index.html").read_text().startswith("<!doctype html>")
