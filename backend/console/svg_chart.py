"""Bar charts drawn on the server as SVG: the figures are in the page itself, readable without scripts.

The template (`console/_bar_chart.html`) draws what `bar_chart` computes: one bar per label, the value
above it, the label below, every bar on one scale from 0 to the largest value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 420
HEIGHT = 200
TOP = 24  # room for the value above the tallest bar
BOTTOM = 28  # room for the labels
GAP = 0.3  # of each slot, between bars


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float

    @property
    def centre(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    baseline: float


def bar_chart(
    labels: Sequence[str], values: Sequence[int], *, width: int = WIDTH, height: int = HEIGHT
) -> BarChart:
    """Bars for `values` (counts) under `labels`, scaled to the largest (an all-zero chart has flat bars)."""
    slot = width / max(len(values), 1)
    room = height - TOP - BOTTOM
    largest = max(values, default=0) or 1
    bars = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        tall = room * value / largest
        bars.append(
            Bar(
                label,
                value,
                x=round(i * slot + slot * GAP / 2, 1),
                y=round(TOP + room - tall, 1),
                width=round(slot * (1 - GAP), 1),
                height=round(tall, 1),
            )
        )
    return BarChart(bars, width, height, baseline=TOP + room)
