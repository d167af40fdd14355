"""Store values never become markup or script: XSS payloads everywhere, Markdown sanitized."""

from __future__ import annotations

from pathlib import Path

import mltrail
from mltrail.store import FileStore
from mltrail_generator import build_site
from mltrail_generator.theme.markdown import render_markdown

P1 = "<script>alert(1)</script>"
P2 = "\"'><img src=x onerror=alert(2)>"
P3 = "</script><script>alert(3)</script>"
MD = f"# Notes\n\n{P1}\n\n[click](javascript:alert(4)) <img src=x onerror=alert(5)>\n\n{P3}"
#: Never raw in a page; in data files (JSON strings) only "javascript:" may appear, as text.
RAW = ("<script>alert", "<img src=x onerror", "javascript:alert", "</script><script>")


def _hostile_store(store: FileStore) -> None:
    client = mltrail.Client()
    exp_id = client.create_experiment(P1, tags={"owner": P2, "mlflow.note.content": MD})
    run = client.create_run(exp_id, run_name=P2, tags={"note": P1, "mlflow.note.content": MD})
    rid = run.info.run_id
    client.log_param(rid, "payload", P3)
    client.log_metric(rid, "loss", 0.5, step=0)
    client.log_text(rid, MD, f"{P2}.md")
    client.log_text(rid, f"<html>{P1}</html>", "report.html")
    client.log_text(rid, f"{P1}\n", "logs/out.log")
    client.log_text(rid, f"a,b\n{P2},{P1}\n", "table.csv")
    # A metric key the API would refuse, written by hand: readers must cope.
    metrics = store.run_path(rid) / "metrics"
    (metrics / f"{P2}.tsv").write_text("1700000000000\t1.5\t0\n")


def test_payloads_are_escaped_everywhere(tracking: FileStore, tmp_path: Path) -> None:
    _hostile_store(tracking)
    out = tmp_path / "site"
    build_site(tracking.root, out)
    checked = 0
    for path in out.rglob("*"):
        if not path.is_file() or "artifacts" in path.relative_to(out).parts:
            continue  # artifact copies are downloads, byte for byte what was logged
        text = path.read_text(errors="replace")
        for raw in RAW if path.suffix == ".html" else RAW[:2] + RAW[3:]:
            assert raw not in text, f"{raw!r} raw in {path.relative_to(out)}"
        checked += 1
    assert checked > 10
    run_dir = next((out / "runs").iterdir())
    page = (run_dir / "index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text
    assert "<th>&#34;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;<td>" in page
    assert (run_dir / "artifacts" / "report.html.txt").is_file()
    assert not (run_dir / "artifacts" / "report.html").exists()
    assert 'download="report.html"' in page
    data = (run_dir / "data.js").read_text()
    assert "\\u003cimg src=x onerror=alert(2)\\u003e" in data


def test_markdown_is_sanitized() -> None:
    html = str(render_markdown(MD + '\n\n<a href="JaVaScRiPt:x" onclick="y" style="z">a</a>'))
    assert "<h2>Notes</h2>" in html
    for bad in ("<script", "onerror", "onclick", "javascript:", "style=", "JaVaScRiPt"):
        assert bad not in html, bad


def test_markdown_links_are_rebased_or_dropped() -> None:
    html = str(
        render_markdown(
            "![plot](plots/a.png) [abs](/etc/passwd) [proto](//evil.example/x) "
            "[web](https://example.com) [anchor](#top)",
            link_base="artifacts/",
        )
    )
    assert 'src="artifacts/plots/a.png"' in html
    assert 'href="https://example.com"' in html and 'href="#top"' in html
    assert "/etc/passwd" not in html and "evil.example" not in html
