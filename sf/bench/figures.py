"""The shape of one benchmark figure, as `sf bench --json` prints it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """A measured value beside its baseline.

    ``higher_is_better`` decides the ratio: value / baseline for rates,
    baseline / value for times and sizes, so a ratio above 1 is always good.
    """

    value: float
    unit: str
    baseline: float | None = None
    higher_is_better: bool = False

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.value == 0 or self.baseline == 0:
            return None
        return self.value / self.baseline if self.higher_is_better else self.baseline / self.value

    def as_json(self) -> dict[str, float | str | None]:
        out: dict[str, float | str | None] = {"value": round(self.value, 4), "unit": self.unit}
        if self.baseline is not None:
            out["baseline"] = round(self.baseline, 4)
            out["ratio"] = None if self.ratio is None else round(self.ratio, 3)
        return out
