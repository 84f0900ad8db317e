"""RELIABILITY I1's time bound: the whole cross-tenant matrix (every gRPC method, GraphQL field and web route
x every principal) runs in under 60 s, so it stays in every run. Measured as its own pytest session, stack
start included, from pytest's own account of the session (the interpreter's start-up is not the matrix's)."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from tests.faults.processes import REPO

MATRICES = (
    "tests/isolation/test_matrix.py",
    "tests/isolation/test_graphql_matrix.py",
    "tests/isolation/test_web_matrix.py",
)
BOUND_S = 60.0


@pytest.mark.long  # a second stack and the matrix again: a minute
def test_the_whole_matrix_runs_within_a_minute(tmp_path):
    """RELIABILITY I1: the three matrices pass in one session of under 60 s."""
    report = tmp_path / "matrix.xml"
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={tmp_path / 'run'}"]
    ran = subprocess.run(
        [sys.executable, *args, f"--junitxml={report}", *MATRICES],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode == 0, ran.stdout[-4000:]
    suite = ET.parse(report).getroot().find("testsuite")
    seconds, tests = float(suite.get("time")), int(suite.get("tests"))
    print(f"\nI1: {tests} matrix tests in {seconds:.1f} s")
    assert seconds < BOUND_S
