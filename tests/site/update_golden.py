"""The golden snapshot of the sample site, and the one command that rewrites it.

    python -m tests.site.update_golden

builds ``sample_runs/store`` and rewrites ``tests/site/golden/``:

- ``files/``: a copy of every page and generated text file of the site (HTML, the data
  files ``runs.js``/``data.js``, ``search.js``, ``assets/chart-specs.js``,
  ``assets/highlight.css``), compared byte for byte;
- ``manifest.json``: every other file of the site, by kind: ``hashed`` (metric CSVs and
  artifact copies, by sha256: big, or binary, and mostly the store's own bytes) and
  ``theme`` (the theme's static files, vendored Vega included, copied unchanged into
  ``assets/``: checked against ``themes/default/static``, so editing the theme does
  not need a new snapshot unless the pages change) with the script bundles of
  ``assets/bundles/`` (checked to be the site's copies of the files they name, joined),
  plus the versions of the libraries that shape the bytes (``VERSIONED``).

``tests/site/test_golden.py`` rebuilds the site and compares it with this snapshot.
Rewrite it when a change to the site is intended, and review ``git diff tests/site/golden``.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.metadata
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_STORE = ROOT / "sample_runs" / "store"
THEME_STATIC = ROOT / "themes" / "default" / "static"
GOLDEN = Path(__file__).resolve().parent / "golden"
GOLDEN_SITE = GOLDEN / "files"
MANIFEST = GOLDEN / "manifest.json"
REGENERATE = "python -m tests.site.update_golden"
#: Not site content: build state (file times), see docs/SITE.md.
BUILD_STATE = ".mltrail-build.json"
#: The libraries whose versions change the site's bytes (templates, highlighting,
#: Markdown, sanitizing, chart specs).
VERSIONED = ("altair", "jinja2", "markdown", "nh3", "pygments")
_SNAPSHOT_SUFFIXES = (".html", ".js", ".css")
_DATA_CALL = re.compile(r"\A(MLTRAIL\.\w+)\((.*)\);\n?\Z", re.DOTALL)
#: The head of each file joined in a script bundle (generator/pages/bundles.py).
_BUNDLED = re.compile(rb"^/\* (assets/[^ ]+) \*/\n", re.MULTILINE)


@dataclass(frozen=True)
class Snapshot:
    """A site's files by kind (relative posix paths)."""

    text: dict[str, bytes]  # kept whole in golden/site/
    hashed: dict[str, str]  # path -> sha256
    theme: list[str]  # copies of THEME_STATIC files

    @property
    def paths(self) -> set[str]:
        return set(self.text) | set(self.hashed) | set(self.theme)


def kind_of(rel: str) -> str:
    """``theme``, ``text`` or ``hashed``: how the golden keeps the site file ``rel``."""
    parts = rel.split("/")
    if parts[0] == "assets" and (THEME_STATIC / "/".join(parts[1:])).is_file():
        return "theme"
    if parts[:2] == ["assets", "bundles"]:
        return "theme"  # made of theme files (and chart-specs.js): see bundle_problems
    copied = parts[0] == "runs" and len(parts) > 2 and parts[2] in ("artifacts", "metrics")
    if not copied and rel.endswith(_SNAPSHOT_SUFFIXES):
        return "text"
    return "hashed"


def snapshot_of(site: Path) -> Snapshot:
    text: dict[str, bytes] = {}
    hashed: dict[str, str] = {}
    theme: list[str] = []
    for path in sorted(site.rglob("*")):
        rel = path.relative_to(site).as_posix()
        if not path.is_file() or rel == BUILD_STATE:
            continue
        kind = kind_of(rel)
        if kind == "theme":
            theme.append(rel)
        elif kind == "text":
            text[rel] = path.read_bytes()
        else:
            hashed[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return Snapshot(text, hashed, theme)


def versions() -> dict[str, str]:
    return {name: importlib.metadata.version(name) for name in VERSIONED}


def write_golden(site: Path) -> Snapshot:
    """Replace ``golden/`` with the snapshot of the built ``site``."""
    snap = snapshot_of(site)
    if GOLDEN_SITE.exists():
        shutil.rmtree(GOLDEN_SITE)
    for rel, data in snap.text.items():
        target = GOLDEN_SITE / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    manifest = {
        "regenerate": REGENERATE,
        "versions": versions(),
        "hashed": snap.hashed,
        "theme": snap.theme,
    }
    MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return snap


def load_golden() -> tuple[Snapshot, dict[str, str]]:
    """The committed snapshot and the library versions it was made with."""
    if not MANIFEST.is_file():
        raise FileNotFoundError(f"no golden snapshot at {MANIFEST}: run `{REGENERATE}`")
    manifest = json.loads(MANIFEST.read_text())
    text = {
        p.relative_to(GOLDEN_SITE).as_posix(): p.read_bytes()
        for p in sorted(GOLDEN_SITE.rglob("*"))
        if p.is_file()
    }
    return Snapshot(text, manifest["hashed"], manifest["theme"]), manifest["versions"]


def readable(data: bytes) -> list[str]:
    """Lines to diff: a data file's one-line JSON is pretty-printed first."""
    text = data.decode("utf-8", errors="replace")
    call = _DATA_CALL.match(text)
    if call:
        try:
            payload = json.loads(call.group(2))
        except ValueError:
            pass
        else:
            pretty = json.dumps(payload, indent=1, sort_keys=True, ensure_ascii=False)
            text = f"{call.group(1)}(\n{pretty}\n);\n"
    return text.splitlines(keepends=True)


def diff(rel: str, golden: bytes, built: bytes, limit: int = 40) -> str:
    lines = list(
        difflib.unified_diff(
            readable(golden), readable(built), f"golden/files/{rel}", f"built/{rel}", n=2
        )
    )
    shown = "".join(lines[:limit])
    more = len(lines) - limit
    return shown + (f"... ({more} more diff lines)\n" if more > 0 else "")


def structure_problems(golden: Snapshot, built: Snapshot) -> list[str]:
    """Files missing from the build, files the golden does not know, kinds that changed."""
    problems = []
    for rel in sorted(golden.paths - built.paths):
        problems.append(f"{rel}: in the golden snapshot, not in the built site")
    for rel in sorted(built.paths - golden.paths):
        problems.append(f"{rel}: in the built site, not in the golden snapshot")
    for name, was, now in (
        ("text", set(golden.text), set(built.text)),
        ("hashed", set(golden.hashed), set(built.hashed)),
    ):
        for rel in sorted((was ^ now) & golden.paths & built.paths):
            problems.append(f"{rel}: kept as {name!r} in one snapshot only")
    return problems


def theme_problems(site: Path, built: Snapshot) -> list[str]:
    """Theme files the build did not copy unchanged."""
    problems = []
    for rel in built.theme:
        if rel.startswith("assets/bundles/"):
            problems += bundle_problems(site, rel)
            continue
        source = THEME_STATIC / rel.removeprefix("assets/")
        if (site / rel).read_bytes() != source.read_bytes():
            problems.append(f"{rel}: not a byte-for-byte copy of {source.relative_to(ROOT)}")
    return problems


def bundle_problems(site: Path, rel: str) -> list[str]:
    """A script bundle that is not the site's copies of the files it names, joined."""
    bundle = (site / rel).read_bytes()
    named = [m.group(1).decode() for m in _BUNDLED.finditer(bundle)]
    if not named:
        return [f"{rel}: names no file"]
    joined = b"".join(b"/* %s */\n%s\n;\n" % (n.encode(), (site / n).read_bytes()) for n in named)
    return [] if bundle == joined else [f"{rel}: not the files it names ({named}), joined"]


def content_problems(golden: Snapshot, built: Snapshot) -> list[str]:
    """Files whose bytes differ from the golden's, each with a readable diff."""
    problems = []
    for rel in sorted(set(golden.text) & set(built.text)):
        if golden.text[rel] != built.text[rel]:
            problems.append(f"{rel} differs:\n{diff(rel, golden.text[rel], built.text[rel])}")
    for rel in sorted(set(golden.hashed) & set(built.hashed)):
        if golden.hashed[rel] != built.hashed[rel]:
            problems.append(
                f"{rel}: sha256 {built.hashed[rel][:16]}..., the golden has "
                f"{golden.hashed[rel][:16]}..."
            )
    return problems


def main() -> None:
    from mltrail_generator import build_site
    from tests.site.browse import sample_copy

    with tempfile.TemporaryDirectory(prefix="mltrail-golden-") as tmp:
        site = Path(tmp) / "site"
        build_site(sample_copy(Path(tmp)), site)  # outside git: see sample_copy
        snap = write_golden(site)
    size = sum(len(data) for data in snap.text.values())
    print(
        f"Wrote {GOLDEN.relative_to(ROOT)}: {len(snap.text)} files kept whole "
        f"({size / 1_000_000:.1f} MB), {len(snap.hashed)} by sha256, "
        f"{len(snap.theme)} theme files."
    )


if __name__ == "__main__":
    main()
