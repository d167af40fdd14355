"""What the site benchmarks share: the run context, figures and the Markdown table."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    """One measurement, repeated; the median is compared with the target (``≤ target``)."""

    key: str
    label: str
    unit: str
    values: list[float] = field(default_factory=list)
    target: float | None = None
    note: str = ""
    #: The 1-minute load average when each value was taken (other jobs share the cores).
    loads: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)
        self.loads.append(one_minute_load())

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    @property
    def met(self) -> str:
        if self.target is None or self.median is None:
            return ""
        return "yes" if self.median <= self.target else "**no**"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "median": self.median}


def fmt(value: float | None) -> str:
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def markdown(figures: list[Figure], context: list[str]) -> str:
    lines = [
        "| Measurement | Runs | Median | Target | Met | Load (1 min) at each run |",
        "|---|---|---:|---|---|---|",
    ]
    for f in figures:
        runs = " / ".join(fmt(v) for v in f.values)
        target = f"≤ {fmt(f.target)} {f.unit}" if f.target is not None else ""
        label = f"{f.label} ({f.unit})"
        loads = " / ".join(f"{load:.1f}" for load in f.loads)
        lines.append(f"| {label} | {runs} | {fmt(f.median)} | {target} | {f.met} | {loads} |")
    lines += ["", *context, ""]
    lines += [f"- {f.label}: {f.note}" for f in figures if f.note]
    return "\n".join(lines) + "\n"


def one_minute_load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` shows them."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def machine_lines(started_load: str, command: str) -> list[str]:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    chromium = _first_line(["/usr/bin/chromium", "--version"])
    return [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores ({cpu}), "
        f"{platform.system()} {platform.release()}, Python {sys.version.split()[0]}, {chromium}.",
        f"Load average (`uptime`): {started_load} at the start, {load_average()} at the end.",
        f"Command: `{command}`.",
    ]


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "Chromium ?"
    return (done.stdout.strip().splitlines() or ["Chromium ?"])[0]


@dataclass
class Context:
    """One run of the driver: where it works, how it runs things, what it measured."""

    bench_dir: Path
    repeats: int
    mltrail: list[str]
    mlflow_python: Path
    figures: list[Figure]
    raw: dict[str, Any]

    @property
    def sites(self) -> Path:
        return self.bench_dir / "sites"

    @property
    def trash(self) -> Path:
        """Old outputs, deleted when every measurement is done."""
        return self.bench_dir / "trash"

    def figure(self, key: str, label: str, unit: str, target: float | None = None) -> Figure:
        figure = Figure(key, label, unit, target=target)
        self.figures.append(figure)
        return figure


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def mltrail_command() -> list[str]:
    script = Path(sys.executable).with_name("mltrail")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mltrail"]
