"""`sf detect`: fit on a training CSV, score a test CSV row by row, write ``datetime,anomaly``."""

from __future__ import annotations

import csv
from pathlib import Path

from services.analytics.anomaly import Anomaly, Scorer, anomalies, fit
from services.analytics.anomaly.tables import TIME, Table, read_table


def detect_files(train_path: Path, test_path: Path, out_path: Path) -> tuple[Table, list[Anomaly]]:
    """Write one ``datetime,anomaly`` row per test row; the anomalies found, with their series."""
    train = read_table(train_path)
    model = fit(train.values, train.columns)
    test = read_table(test_path)
    scores = Scorer(model).update(test.select(train.columns))
    with out_path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([TIME, "anomaly"])
        writer.writerows(zip(test.times, scores.anomaly.tolist(), strict=True))
    return test, anomalies(scores, model.columns)


def describe(test: Table, found: list[Anomaly]) -> list[str]:
    lines = [f"{len(test.times)} rows scored, {len(found)} anomal{'y' if len(found) == 1 else 'ies'}"]
    for a in found:
        lines.append(
            f"  {test.times[a.start]} .. {test.times[a.stop - 1]} ({a.stop - a.start} rows, "
            f"peak score {a.peak_score:.1f}): {', '.join(a.series)}"
        )
    return lines
