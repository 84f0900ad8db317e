"""RELIABILITY S2: coverage-guided fuzzing (atheris) of the tscodec readers and of ingest's batch path.

Each run is its own process (libFuzzer ends the process when it is done), started from the seed corpus
in ``corpus.py`` with a fixed seed, so a short run in ``make test`` is repeatable; ``make test-long``
runs a million inputs per target. A crash, a hang past 10 s or a failed assertion in ``targets.py``
makes libFuzzer save the input and exit non-zero; such an input becomes a case in
``test_regressions.py``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.corpus import write_corpus

ROOT = Path(__file__).resolve().parents[2]
# Inputs past these sizes only slow a run down: the codec's readers are linear in the blob, and
# ingest's rules do not depend on batch size beyond the limits tested in tests/e2e/test_bad_input.py.
MAX_LEN = {"codec": 1024, "ingest": 4096}


def fuzz(target: str, runs: int, folder: Path) -> str:
    """libFuzzer's report of ``runs`` inputs into ``target``; fails with the saved input on a crash."""
    artifacts = folder / "artifacts"
    artifacts.mkdir()
    command = [
        sys.executable, "-m", "tests.fuzz.targets", target, f"-runs={runs}", "-seed=20261206",
        f"-max_len={MAX_LEN[target]}", "-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1",
        f"-artifact_prefix={artifacts}/", str(write_corpus(target, folder / "corpus")),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, env=os.environ, capture_output=True, text=True, check=False)
    found = [p.name for p in artifacts.iterdir()]
    assert done.returncode == 0 and not found, f"{found}\n{failure_of(done.stderr)}"
    return done.stderr


def failure_of(report: str) -> str:
    """The Python traceback and the saved input of a failed run (libFuzzer's progress lines left out)."""
    return report[report.find("=== Uncaught") :][-6000:] if "=== Uncaught" in report else report[-4000:]


def executed(report: str) -> int:
    return int(re.search(r"stat::number_of_executed_units: (\d+)", report).group(1))


@pytest.mark.parametrize("target", ["codec", "ingest"])
def test_a_short_fuzz_run_finds_nothing(target, tmp_path):
    """RELIABILITY S2: 2,000 inputs per target (seconds): no crash, no hang, every assertion held."""
    assert executed(fuzz(target, 2_000, tmp_path)) == 2_000


@pytest.mark.long
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("target", ["codec", "ingest"])
def test_a_million_inputs_find_nothing(target, tmp_path):
    """RELIABILITY S2: 1,000,000 inputs per target: no crash, no hang, every assertion held."""
    assert executed(fuzz(target, 1_000_000, tmp_path)) == 1_000_000
