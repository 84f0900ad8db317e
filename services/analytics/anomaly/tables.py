"""Sensor tables from CSV: a ``datetime`` column and numeric sensor columns, one row per sample.

The separator is SKAB's ``;`` or a plain ``,`` (whichever the header uses). Label columns
(``anomaly``, ``changepoint``) are dropped, so a labelled file can be scored as it is. Rows must be in
time order: scoring is causal, row after row.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from services.analytics.anomaly.errors import BadSensorData

TIME = "datetime"
LABELS = ("anomaly", "changepoint")


@dataclass(frozen=True)
class Table:
    times: tuple[str, ...]  # as written in the file
    columns: tuple[str, ...]
    values: np.ndarray  # rows x columns, float64
    labels: dict[str, np.ndarray]  # label columns present in the file

    def select(self, columns: tuple[str, ...]) -> np.ndarray:
        """The values of ``columns`` in that order (a test table must hold the training columns)."""
        missing = [c for c in columns if c not in self.columns]
        if missing:
            raise BadSensorData.of(", ".join(missing), "missing from the table", "MISSING_SERIES")
        return self.values[:, [self.columns.index(c) for c in columns]]


def read_table(path: Path) -> Table:
    try:
        with path.open(newline="") as f:
            text = f.read()
    except OSError as exc:
        raise BadSensorData.of(str(path), f"cannot be read: {exc.strerror}", "EMPTY_INPUT") from exc
    return parse_table(text, str(path))


def parse_table(text: str, name: str = "table") -> Table:
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise BadSensorData.of(name, "is empty", "EMPTY_INPUT")
    separator = ";" if ";" in lines[0] else ","
    header, *rows = list(csv.reader(lines, delimiter=separator))
    header = [h.strip() for h in header]
    if TIME not in header:
        raise BadSensorData.of(
            name, f"has no {TIME!r} column (columns: {', '.join(header)})", "MISSING_DATETIME"
        )
    if not rows:
        raise BadSensorData.of(name, "has a header but no rows", "EMPTY_INPUT")
    if any(len(row) != len(header) for row in rows):
        raise BadSensorData.of(name, f"every row needs {len(header)} fields", "NOT_NUMERIC")
    cells = dict(zip(header, zip(*rows, strict=True), strict=True))
    times = tuple(cells.pop(TIME))
    _check_order(times, name)
    labels = {label: _numbers(cells.pop(label), label, name) for label in LABELS if label in cells}
    columns = tuple(cells)
    if not columns:
        raise BadSensorData.of(name, "has no sensor columns", "NO_SERIES")
    values = np.column_stack([_numbers(cells[c], c, name) for c in columns])
    return Table(times, columns, values, labels)


def _numbers(cells: tuple[str, ...], column: str, name: str) -> np.ndarray:
    try:
        values = np.array(cells, dtype=np.float64)
    except ValueError:
        bad = next(i for i, cell in enumerate(cells) if not _is_number(cell))
        raise BadSensorData.of(
            column, f"{name} row {bad + 1}: {cells[bad]!r} is not a number", "NOT_NUMERIC"
        ) from None
    if not np.all(np.isfinite(values)):
        bad = int(np.flatnonzero(~np.isfinite(values))[0])
        raise BadSensorData.of(column, f"{name} row {bad + 1}: {cells[bad]!r} is not finite", "NOT_NUMERIC")
    return values


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _check_order(times: tuple[str, ...], name: str) -> None:
    previous = None
    for i, text in enumerate(times):
        try:
            moment = datetime.fromisoformat(text.strip())
            if previous is not None and moment < previous:
                raise BadSensorData.of(
                    TIME, f"{name} row {i + 1}: {text!r} is before the row above it", "UNORDERED_TIME"
                )
        except (ValueError, TypeError) as exc:
            raise BadSensorData.of(
                TIME, f"{name} row {i + 1}: {text!r} is not an ISO 8601 time", "MISSING_DATETIME"
            ) from exc
        previous = moment
