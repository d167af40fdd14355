"""Fixtures of the site tests: the sample store built once per worker, and copies of it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mltrail_generator import BuildSummary, build_site

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_STORE = ROOT / "sample_runs" / "store"


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample store's site, built once (read-only for the tests)."""
    out = tmp_path_factory.mktemp("sample") / "site"
    build_site(SAMPLE_STORE, out)
    return out


@pytest.fixture
def store_copy(tmp_path: Path) -> Path:
    """A private copy of the sample store (file times kept), free to change."""
    dest = tmp_path / "store"
    shutil.copytree(SAMPLE_STORE, dest, ignore=shutil.ignore_patterns(".cache"))
    return dest


def files_of(site: Path) -> dict[str, bytes]:
    """Every file of a built site (without the build manifest), by relative path."""
    return {
        p.relative_to(site).as_posix(): p.read_bytes()
        for p in sorted(site.rglob("*"))
        if p.is_file() and p.name != ".mltrail-build.json"
    }


def mtimes_of(site: Path) -> dict[str, int]:
    return {
        p.relative_to(site).as_posix(): p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()
    }


Builder = Callable[..., BuildSummary]
