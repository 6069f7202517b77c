"""Inline SVG charts as geometry: the template draws them (so every label is escaped by jinja2).

A chart is a list of horizontal stacked bars, one per group (a CIS section, a severity, a practice),
each split by outcome; the number at the end is the group's compliance percentage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

# drawing order of the segments, left to right
SEGMENTS = ("passed", "failed", "error", "unknown", "manual", "waived", "not_applicable")
LABEL_W = 170
BAR_W = 380
ROW_H = 22
BAR_H = 15
PCT_W = 100


def compliance(counts: Mapping[str, int]) -> float | None:
    """passed / (everything except not_applicable). Unknown, manual, waived and error count against."""
    judged = sum(v for k, v in counts.items() if k != "not_applicable")
    return None if not judged else counts.get("passed", 0) / judged


@dataclass
class Segment:
    outcome: str
    x: float
    width: float
    count: int


@dataclass
class Bar:
    label: str
    y: int
    total: int
    percent: str
    segments: list[Segment] = field(default_factory=list)


@dataclass
class Chart:
    title: str
    bars: list[Bar]
    width: int = LABEL_W + BAR_W + PCT_W
    label_w: int = LABEL_W
    bar_w: int = BAR_W
    bar_h: int = BAR_H

    @property
    def height(self) -> int:
        return max(1, len(self.bars)) * ROW_H + 4


def stacked_bars(title: str, groups: Iterable[tuple[str, Mapping[str, int]]]) -> Chart:
    bars: list[Bar] = []
    for i, (label, counts) in enumerate(groups):
        total = sum(counts.get(o, 0) for o in SEGMENTS)
        pct = compliance(counts)
        bar = Bar(label=label, y=i * ROW_H + 2, total=total, percent="n/a" if pct is None else f"{pct:.0%}")
        x = float(LABEL_W)
        for o in SEGMENTS:
            n = counts.get(o, 0)
            if not n or not total:
                continue
            w = BAR_W * n / total
            bar.segments.append(Segment(o, round(x, 2), round(w, 2), n))
            x += w
        bars.append(bar)
    return Chart(title=title, bars=bars)
