"""`mltrail build`: thin over build_site, one summary line, errors without tracebacks."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from mltrail.cli import build_cli
from mltrail.git import find_repo_root
from tests.generator.conftest import SAMPLE_STORE


def test_build_prints_one_summary_line(tmp_path: Path) -> None:
    out = tmp_path / "site"
    result = CliRunner().invoke(build_cli(), ["build", str(SAMPLE_STORE), "-o", str(out)])
    assert result.exit_code == 0, result.output
    # + Projects, the sample project, and in a checkout this repository
    pages = 61 + (1 if find_repo_root(SAMPLE_STORE) else 0)
    assert result.output.startswith(f"Built {out}: {pages} pages written, 0 unchanged")
    assert result.output.count("\n") == 1
    assert (out / "index.html").is_file()


def test_build_errors_are_one_line(tmp_path: Path) -> None:
    config = tmp_path / "site.yaml"
    config.write_text("title: 3\nbase_url: nope\n")
    args = ["build", str(SAMPLE_STORE), "-o", str(tmp_path / "s"), "--config", str(config)]
    result = CliRunner().invoke(build_cli(), args)
    assert result.exit_code == 2
    assert "Error: The site config has 2 problem(s)" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(build_cli(), ["build", str(tmp_path), "-o", str(tmp_path / "s")])
    assert result.exit_code != 0 and "not an mltrail store" in result.output


def test_build_flags_reach_the_library(tmp_path: Path) -> None:
    out = tmp_path / "site"
    args = ["build", str(SAMPLE_STORE), "-o", str(out), "--base-url", "https://x.example/p"]
    args += ["--theme", "default", "--strict", "--clean"]
    result = CliRunner().invoke(build_cli(), args)
    assert result.exit_code == 0, result.output
    assert 'href="https://x.example/p/index.html"' in (out / "index.html").read_text()
