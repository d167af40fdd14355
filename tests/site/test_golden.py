"""The sample site, byte for byte, against its committed snapshot (``tests/site/golden/``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tests.conftest import PIN_HINT, pinned_versions, skip_unless_ci
from tests.site.update_golden import (
    GOLDEN,
    MANIFEST,
    REGENERATE,
    ROOT,
    content_problems,
    load_golden,
    snapshot_of,
    structure_problems,
    theme_problems,
    versions,
)

#: Pages, data files and search index only (the vendored files are in the manifest).
MAX_GOLDEN_BYTES = 2_500_000
MANIFEST_NAME = MANIFEST.relative_to(ROOT).as_posix()


def report(problems: list[str]) -> str:
    shown = "\n".join(problems[:15])
    more = f"\n... and {len(problems) - 15} more" if len(problems) > 15 else ""
    return (
        f"The built sample site differs from its golden snapshot in "
        f"{len(problems)} place(s):\n\n{shown}{more}\n\n"
        f"If the change is intended, regenerate the snapshot with `{REGENERATE}` "
        f"(from the repository root) and review `git diff {GOLDEN.relative_to(ROOT)}`."
    )


def test_the_sample_site_matches_its_golden_snapshot(sample_site: Path) -> None:
    golden, made_with = load_golden()
    built = snapshot_of(sample_site)
    problems = structure_problems(golden, built) + theme_problems(sample_site, built)
    installed = versions()
    if installed == made_with:
        problems += content_problems(golden, built)
    assert not problems, report(problems)
    if installed != made_with:
        skip_unless_ci(
            f"the golden snapshot was made with {made_with}, these are {installed}: the files "
            f"and theme copies match; bytes not compared. To compare them, {PIN_HINT}; to "
            f"move the snapshot to these versions, `{REGENERATE}` and update constraints.txt"
        )


def test_constraints_pin_the_versions_the_snapshot_was_made_with() -> None:
    _, made_with = load_golden()
    pins = pinned_versions()
    assert {name: pins.get(name) for name in made_with} == made_with, (
        f"constraints.txt must pin the versions of {MANIFEST_NAME} ({made_with}): update it"
    )


def test_the_golden_snapshot_is_small_and_has_every_page_type() -> None:
    golden, _ = load_golden()
    assert sum(len(data) for data in golden.text.values()) <= MAX_GOLDEN_BYTES
    assert not any(rel.startswith("assets/vendor/") for rel in golden.text)
    for rel in ("index.html", "404.html", "search.js", "compare/index.html"):
        assert rel in golden.text, rel
    kinds = {rel.split("/")[0] for rel in golden.text if rel.endswith("/index.html")}
    assert {"experiments", "runs", "compare"} <= kinds
    assert any(rel.endswith("/runs.js") for rel in golden.text)
    assert any(rel.endswith("/data.js") for rel in golden.text)
    assert "assets/vendor/vega.min.js" in golden.theme


def test_a_difference_names_the_file_shows_a_readable_diff_and_the_command(
    sample_site: Path,
) -> None:
    built = snapshot_of(sample_site)
    data = next(rel for rel in built.text if rel.endswith("/data.js"))
    changed = dict(built.text)
    changed[data] = built.text[data].replace(b'"name":"', b'"name":"renamed-', 1)
    del changed["404.html"]
    altered = dataclasses.replace(built, text=changed)
    problems = structure_problems(built, altered) + content_problems(built, altered)
    message = report(problems)
    assert "404.html: in the golden snapshot, not in the built site" in message
    assert f"{data} differs:" in message
    assert '+ "name": "renamed-' in message  # the one-line JSON is diffed pretty-printed
    assert REGENERATE in message


def test_the_regenerate_command_is_documented() -> None:
    for doc in ("README.md", "docs/SITE.md"):
        assert REGENERATE in (ROOT / doc).read_text(), f"{doc} does not say `{REGENERATE}`"


def test_the_readme_shows_every_screenshot_and_they_stay_small() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "python docs/screenshots.py" in readme
    shots = sorted((ROOT / "docs" / "screenshots").glob("*.png"))
    assert [p.stem for p in shots] == ["compare", "experiment", "home", "model", "run"]
    for shot in shots:
        assert f"](docs/screenshots/{shot.name})" in readme, shot.name
        assert shot.stat().st_size <= 300_000, f"{shot.name} is over 300 KB"
