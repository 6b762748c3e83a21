"""Did every selected cell get an outcome?  A partial run says so.

The controller remembers which cells were selected (after ``-k`` and the like: the
items pytest collected, or the ids xdist's workers collected) and compares them with
the cells that reported.  Ctrl-C, SIGTERM (turned into the same KeyboardInterrupt, so
pytest finishes the session and the report is written), ``-x`` or xdist giving up
leave cells without an outcome: results.json then says ``run.complete: false``, how
many cells of how many, which ones and why, and the page shows it at the top.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

import pytest

from tensor_conformance.report.outcomes import cell_key


class Progress:
    """Controller-side plugin: the selected cells, and the signal that stopped the run."""

    def __init__(self) -> None:
        self.selected: list[str] | None = None
        self.stopped_by: str | None = None
        self._previous: Any = None
        self.fields: dict[str, Any] = {}

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.selected = [item.nodeid for item in session.items]

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.selected = list(ids)

    def pytest_sessionstart(self) -> None:
        try:
            self._previous = signal.signal(signal.SIGTERM, self._terminate)
        except ValueError:  # not the main thread: leave SIGTERM alone
            self._previous = None

    def _terminate(self, signum: int, frame: FrameType | None) -> None:
        self.stopped_by = "SIGTERM"
        raise KeyboardInterrupt("SIGTERM")

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None


def register(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(Progress(), "conformance-progress")


def run_fields(config: pytest.Config, session: pytest.Session, exitstatus: int,
               records: list[dict[str, Any]], cell_for_nodeid: Any) -> dict[str, Any]:
    """``complete``, ``selected_cells``, ``missing_cells`` and ``incomplete_reason`` for
    results.json's ``run``."""
    progress: Progress | None = config.pluginmanager.get_plugin("conformance-progress")
    if progress is None:
        return {}
    progress.restore()
    recorded = {cell_key(r) for r in records}
    missing: list[dict[str, str]] = []
    selected = 0
    for nodeid in progress.selected or []:
        cell = cell_for_nodeid(nodeid)
        if cell is None:
            continue
        selected += 1
        key = (cell.spec.id, cell.item.id, cell.backend)
        if key not in recorded:
            missing.append({"spec": key[0], "case": key[1], "backend": key[2]})
    complete = progress.selected is not None and not missing
    reason = None
    dsession = config.pluginmanager.get_plugin("dsession")
    stopped = session.shouldfail or session.shouldstop or getattr(dsession, "shouldstop", None)
    maxfail = bool(config.getoption("maxfail")) and str(stopped).startswith("stopping after")
    if maxfail and not progress.stopped_by and exitstatus == pytest.ExitCode.INTERRUPTED:
        # xdist ends a -x/--maxfail run as "interrupted"; in one process it is a failure
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if not complete:
        reason = (
            "interrupted by SIGTERM" if progress.stopped_by
            else f"stopped early: {stopped}" if stopped
            else "interrupted (Ctrl-C)" if exitstatus == pytest.ExitCode.INTERRUPTED
            else f"xdist: {getattr(dsession, '_summary_report', '')}"
            if getattr(dsession, "_summary_report", None)
            else "the run ended before collection finished" if progress.selected is None
            else "these cells reported no outcome")
    progress.fields = {"complete": complete, "selected_cells": max(selected, len(recorded)),
                       "missing_cells": missing, "incomplete_reason": reason}
    return progress.fields


def last_fields(config: pytest.Config) -> dict[str, Any]:
    progress: Progress | None = config.pluginmanager.get_plugin("conformance-progress")
    return progress.fields if progress is not None else {}


def summary_line(run: dict[str, Any]) -> str | None:
    """The terminal's warning for a partial run, or None."""
    if run.get("complete", True):
        return None
    selected, missing = run.get("selected_cells", 0), len(run.get("missing_cells", []))
    return (f"PARTIAL RUN: {selected - missing} of {selected} selected cells have an outcome, "
            f"{missing} have none ({run.get('incomplete_reason')})")
