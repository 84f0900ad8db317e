"""`sf detect` end to end, in a subprocess: CSV in, `datetime,anomaly` out, status 2 on bad input."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from tests.analytics.test_anomaly_detector import COLUMNS, machine

REPO = Path(__file__).resolve().parents[2]


def write_csv(path: Path, values: np.ndarray, start: datetime, sep: str, labels: bool = False) -> list[str]:
    times = [(start + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(len(values))]
    with path.open("w", newline="") as f:
        writer = csv.writer(f, delimiter=sep)
        writer.writerow(["datetime", *COLUMNS, *(["anomaly", "changepoint"] if labels else [])])
        for t, row in zip(times, values, strict=True):
            writer.writerow([t, *row.tolist(), *([1, 0] if labels else [])])
    return times


def sf_detect(tmp_path: Path, train: Path, test: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "sf", "detect", "--train", str(train), "--test", str(test)]
    out = ["--out", str(tmp_path / "pred.csv")]
    return subprocess.run(command + out, cwd=REPO, capture_output=True, text=True, timeout=60)


def test_detect_writes_a_prediction_per_row_and_names_the_series(tmp_path):
    start = datetime(2026, 3, 1, 8, 0, 0)
    write_csv(tmp_path / "train.csv", machine(400, 11), start, ";")
    test = machine(600, 12)
    test[300:420, 2] -= 4.0  # Flow drops
    times = write_csv(tmp_path / "test.csv", test, start + timedelta(seconds=400), ",", labels=True)
    done = sf_detect(tmp_path, tmp_path / "train.csv", tmp_path / "test.csv")
    assert done.returncode == 0, done.stderr
    with (tmp_path / "pred.csv").open() as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["datetime", "anomaly"]
    assert [r[0] for r in rows[1:]] == times
    flags = np.array([int(r[1]) for r in rows[1:]])
    assert set(flags) <= {0, 1} and flags[310:400].all() and flags[:250].mean() < 0.05
    assert "600 rows scored" in done.stdout
    assert any(line.endswith(": Flow") or ": Flow," in line for line in done.stdout.splitlines())


def test_bad_input_exits_2_with_the_reason(tmp_path):
    start = datetime(2026, 3, 1, 8, 0, 0)
    write_csv(tmp_path / "short.csv", machine(20, 13), start, ",")
    write_csv(tmp_path / "test.csv", machine(20, 14), start, ",")
    done = sf_detect(tmp_path, tmp_path / "short.csv", tmp_path / "test.csv")
    assert done.returncode == 2
    assert "TRAINING_TOO_SHORT" in done.stderr and "Traceback" not in done.stderr
    (tmp_path / "notime.csv").write_text("when,a\n1,2\n")
    done = sf_detect(tmp_path, tmp_path / "notime.csv", tmp_path / "test.csv")
    assert done.returncode == 2 and "no 'datetime' column" in done.stderr
    done = sf_detect(tmp_path, tmp_path / "missing.csv", tmp_path / "test.csv")
    assert done.returncode == 2 and "cannot be read" in done.stderr
