"""The auditor report's control sections rendered by forked helpers (report/sections.py): the same page as one
process renders, a failing helper's sections rendered again by the parent, helpers stopped on an interrupt."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import pytest

from aks_compliance.report import sections
from aks_compliance.report.html import render_report

from .conftest import FIXTURES, process_gone, scan

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="helpers are forked on Linux only")


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    # every kind of section: findings pivoted and not, passes grouped and not, not applicable, unknowns
    return scan(FIXTURES / "examples", FIXTURES / "controls").document()


def _with(monkeypatch: pytest.MonkeyPatch, processes: int) -> list[int]:
    started: list[int] = []
    start = sections._start

    def recording(*args: Any) -> tuple[int, int, list[int]]:
        helper = start(*args)
        started.append(helper[0])
        return helper
    monkeypatch.setattr(sections, "_processes", lambda total, items: processes)
    monkeypatch.setattr(sections, "_start", recording)
    return started


def test_the_page_rendered_with_helpers_is_the_page_one_process_renders(doc: dict[str, Any],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(doc["results"]) > 1000 and len(doc["controls"]) > 50
    _with(monkeypatch, 1)
    alone = render_report(doc, generated="then")
    started = _with(monkeypatch, 3)
    shared = render_report(doc, generated="then")
    assert len(started) == 2, "two helpers rendered sections"
    assert shared == alone
    assert all(process_gone(pid) or _reaped(pid) for pid in started)


def _reaped(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_the_work_is_shared_by_weight_and_kept_in_order() -> None:
    weights = [100, 1, 1, 1, 50, 50]
    shares = sections._share(weights, 2)
    assert sorted(i for s in shares for i in s) == list(range(6))
    assert all(s == sorted(s) for s in shares)
    loads = [sum(weights[i] for i in s) for s in shares]
    assert abs(loads[0] - loads[1]) <= 1, shares  # not [100, 50, 50] against three of 1
    assert sections._share([5], 3) == [[0]]


def test_a_helper_that_fails_leaves_its_sections_to_the_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    parent = os.getpid()

    def render(n: int) -> str:
        if os.getpid() != parent and n % 2:
            raise RuntimeError("a helper's fault")  # in a helper only: the parent renders these again
        return f"<p>{n}</p>" * n
    started = _with(monkeypatch, 3)
    work = [(n,) for n in range(12)]
    assert sections.render_all(work, render, weight=lambda item: item[0]) == [render(n) for n in range(12)]
    assert len(started) == 2 and all(_reaped(pid) for pid in started)


def test_an_error_in_a_section_is_raised_as_without_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    def render(n: int) -> str:
        if n == 7:
            raise ValueError("section 7 cannot be shown")
        return str(n)
    started = _with(monkeypatch, 3)
    with pytest.raises(ValueError, match="section 7"):
        sections.render_all([(n,) for n in range(12)], render, weight=lambda item: 1)
    assert started and all(_reaped(pid) for pid in started)


def test_an_interrupt_stops_the_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    parent = os.getpid()

    def render(n: int) -> str:
        if os.getpid() == parent:
            raise KeyboardInterrupt  # while the helpers are still at work
        time.sleep(60)
        return str(n)
    started = _with(monkeypatch, 3)
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        sections.render_all([(n,) for n in range(6)], render, weight=lambda item: 1)
    assert time.monotonic() - began < 30, "the helpers were stopped, not waited for"
    assert len(started) == 2 and all(_reaped(pid) for pid in started)


def test_small_reports_are_rendered_by_one_process() -> None:
    assert sections._processes(sections.PARALLEL_MIN_RESULTS - 1, 100) == 1
    assert sections._processes(10 ** 6, 1) == 1
    assert 1 <= sections._processes(10 ** 6, 100) <= sections.MAX_PROCESSES
