"""The one-way data flow of DESIGN.md holds: import-linter's contracts in pyproject.toml.

The store is the bottom layer (it imports no API and never the generator), the library
never imports the generator, the generator imports no writing code, and no two sibling
modules or packages import each other. That a build leaves the store untouched is
checked at run time in tests/generator/test_site_build.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold() -> None:
    # Its own process: import-linter reconfigures logging (it disables existing loggers).
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 kept, 0 broken" in proc.stdout
