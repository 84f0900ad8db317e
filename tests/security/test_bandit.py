"""RELIABILITY S1: bandit finds no high-severity issue in the product's code (the services, gateway,
command line, edge agent, client and codec build). Medium findings are SQL built from the code's own
identifiers (table names, column lists), reviewed and left to the linter's eye."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ["services", "gateway", "sf", "edge", "sfclient", "ext"]


def test_bandit_reports_no_high_severity_finding():
    """RELIABILITY S1: `bandit -r` over the product's code reports nothing of high severity."""
    run = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", *PRODUCT, "--severity-level", "high", "-f", "json", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(run.stdout)
    assert report["metrics"]["_totals"]["loc"] > 10_000, "bandit read less code than the product has"
    high = [f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}" for r in report["results"]]
    assert not high, "\n".join(high)
    assert not report["errors"], report["errors"]
