"""A crash or a hang costs one cell, never the run.

Cells run in pytest-xdist worker processes, also without ``-n`` (then in one
worker): when a backend kills its process (SIGSEGV, SIGFPE, ``os._exit``) xdist
reports the cell that was running and starts a new worker, which goes on with the
remaining cells.  Restarts are not limited (``--max-worker-restart`` defaults to
one per selected cell: a cell that crashed is not run again).

A hang is caught by :func:`faulthandler.dump_traceback_later` armed around each
cell (``--cell-timeout``): its watchdog is a C thread that needs no GIL, so it
fires even inside a library's C loop; it writes every thread's stack to a file and
ends the worker, which then counts as crashed.

Each worker keeps a journal in a temporary folder: which cell it runs and the
example it is about to run (the drawn inputs, pickled before the backend sees
them; overwritten per example, never fsynced: the kernel keeps what a dying
process wrote), and faulthandler's file (a fatal signal's name and stack, or the
timeout's).  When xdist hands the controller a crashed cell, the controller reads
both and records the cell as ``crash`` or ``timeout`` with the example's inputs
and a reproducer, as for a failure.  A crash that the divergence registry states
(``problems: [crash]`` on an entry whose conditions the example meets: the library
kills the process on those inputs) is recorded as that known divergence instead, with
the same signal, example and reproducer (conformance/divergences.py).

``-n 0``, ``-p no:xdist`` and ``--pdb`` run the cells in the pytest process
itself (for debuggers): there a crash or a hang ends the run, as in plain pytest.
"""

from __future__ import annotations

import faulthandler
import os
import pickle
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tensor_conformance.plugin import Cell

#: seconds one cell (all its examples, shrinking included) may run.  The slowest cell of
#: the ci profile takes well under a minute on a loaded two-core machine; ten times that
#: leaves room for slow CI runners and JAX's first compilations.
DEFAULT_CELL_TIMEOUT = 600.0

JOURNAL_KEY = "conformance_journal"

#: faulthandler's first line for each fatal signal it handles
_SIGNALS = {
    "Segmentation fault": "SIGSEGV",
    "Floating-point exception": "SIGFPE",
    "Floating point exception": "SIGFPE",
    "Aborted": "SIGABRT",
    "Bus error": "SIGBUS",
    "Illegal instruction": "SIGILL",
}


def addoption(group: Any) -> None:
    group.addoption("--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT, metavar="SECONDS",
                    help="end a cell that runs longer than this as 'timeout' (default: "
                    f"{DEFAULT_CELL_TIMEOUT:.0f}; 0 turns the limit off)")


def isolates(config: pytest.Config) -> bool:
    """Do this run's cells run in xdist workers (the controller's view)?"""
    return bool(config.pluginmanager.has_plugin("xdist") and config.getoption("tx", None)
                and config.getoption("dist", "no") != "no")


def configure(config: pytest.Config, cell_count: int) -> None:
    """Controller: ask xdist for one worker when no ``-n`` was given; register the crash
    handler.  Worker: keep the journal.  Runs before xdist's (trylast) pytest_configure,
    which reads ``dist`` and ``tx`` to decide whether to distribute."""
    if hasattr(config, "workerinput"):
        if JOURNAL_KEY in config.workerinput:
            config.pluginmanager.register(
                Journal(Path(config.workerinput[JOURNAL_KEY]), config.workerinput["workerid"],
                        float(config.getoption("cell_timeout"))), "conformance-journal")
        return
    option = config.option
    if (config.pluginmanager.has_plugin("xdist") and getattr(option, "numprocesses", None) is None
            and not getattr(option, "tx", None) and not option.usepdb
            and not option.collectonly):
        option.numprocesses, option.dist, option.tx = 1, "load", ["popen"]
    if isolates(config):
        if getattr(option, "maxworkerrestart", None) is None:
            option.maxworkerrestart = str(cell_count + 1)
        config.pluginmanager.register(CrashHandler(config), "conformance-crash-handler")


# -- in the worker ---------------------------------------------------------------------------
_JOURNAL: Journal | None = None


def record_example(cell: Cell, variables: dict[str, Any], seed: int, examples_done: int) -> None:
    """The example about to run (called before the reference or the backend sees it)."""
    if _JOURNAL is not None:
        _JOURNAL.write({"variables": variables, "seed": seed, "examples": examples_done})


class Journal:
    def __init__(self, folder: Path, worker: str, timeout: float) -> None:
        global _JOURNAL
        self.path = folder / f"{worker}.example"
        self.timeout = timeout
        self.started = 0.0
        self.cell = ""
        self.fault: IO[str] | None = None
        self.fault_path = folder / f"{worker}.fault"
        _JOURNAL = self

    def write(self, entry: dict[str, Any]) -> None:
        entry = {"cell": self.cell, "started": self.started, **entry}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, self.path)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # after pytest's own faulthandler plugin, which points faulthandler at stderr
        self.fault = open(self.fault_path, "w", encoding="utf-8")  # noqa: SIM115 (open for the session)
        faulthandler.enable(file=self.fault, all_threads=True)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Any:
        self.cell, self.started = item.nodeid, time.time()
        self.write({"variables": None, "seed": 0, "examples": 0})
        if self.timeout > 0 and self.fault is not None:
            faulthandler.dump_traceback_later(self.timeout, exit=True, file=self.fault)
        try:
            return (yield)
        finally:
            faulthandler.cancel_dump_traceback_later()

    def pytest_sessionfinish(self) -> None:
        global _JOURNAL
        _JOURNAL = None
        faulthandler.cancel_dump_traceback_later()


# -- in the controller -----------------------------------------------------------------------
class CrashHandler:
    """Turns xdist's "worker crashed while running X" into the cell's crash/timeout record."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.folder = Path(tempfile.mkdtemp(prefix="conformance-journal-"))

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[JOURNAL_KEY] = str(self.folder)

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        from tensor_conformance import plugin  # the plugin imports this module

        worker = report.node.gateway.id  # type: ignore[attr-defined]
        journal = self._read_journal(worker)
        fault = self._read(self.folder / f"{worker}.fault")
        cell = plugin.cell_for_nodeid(self.config, crashitem)
        if journal.get("cell") != crashitem:  # died before the cell began
            journal = {}
        if cell is None:
            return
        record = crash_record(self.config, cell, journal, fault,
                              float(self.config.getoption("cell_timeout")))
        # the cell's outcome, as for any cell (xdist writes "???")
        report.when = "call"  # type: ignore[misc]
        report.location = (report.location[0], None, crashitem.rpartition("::")[2])
        report.longrepr = record["failure"]["message"]
        if record["outcome"] == "divergence":  # a registered crash: xfail, as any divergence
            report.outcome = "skipped"  # type: ignore[misc]
            report.wasxfail = (f"known divergence {record['divergence']['id']}: "  # type: ignore[attr-defined]
                               f"{record['reason']}")
        report.conformance_cell = record  # type: ignore[attr-defined]
        for leftover in self.folder.glob(f"{worker}.*"):
            leftover.unlink(missing_ok=True)

    def _read_journal(self, worker: str) -> dict[str, Any]:
        try:
            entry = pickle.loads((self.folder / f"{worker}.example").read_bytes())
        except (OSError, EOFError, pickle.UnpicklingError):
            return {}
        return entry if isinstance(entry, dict) else {}

    @staticmethod
    def _read(path: Path) -> str:
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def pytest_unconfigure(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _where(stack: str) -> str | None:
    """The innermost frame of the main thread's stack in a faulthandler dump."""
    blocks = re.split(r"\n(?=(?:Current thread|Thread) 0x)", stack)
    main = next((b for b in blocks if b.startswith("Current thread")), blocks[-1] if blocks else "")
    frames = re.findall(r'File "([^"]+)", line (\d+) in (\S+)', main)
    if not frames:
        return None
    path, line, function = frames[0]  # most recent call first
    return f"{function} ({path}:{line})"


def crash_record(config: pytest.Config, cell: Cell, journal: dict[str, Any], fault: str,
                 timeout: float) -> dict[str, Any]:
    """The results.json record of a cell whose worker died: ``timeout`` when the watchdog
    ended it, else ``crash`` with the signal when faulthandler saw one."""
    from tensor_conformance import engine, results
    from tensor_conformance.adapters.registry import Unavailable
    from tensor_conformance.differentiation import GradientCheck, program_run
    from tensor_conformance.plugin import session_of
    from tensor_conformance.reproducer import reproducer

    first = fault.strip().splitlines()[0] if fault.strip() else ""
    where = _where(fault)
    if first.startswith("Timeout"):
        outcome = "timeout"
        reason = f"ran longer than --cell-timeout {timeout:g} s"
    else:
        outcome = "crash"
        kind = first.removeprefix("Fatal Python error: ")
        signal = _SIGNALS.get(kind)
        reason = (f"the process died of {signal} ({kind})" if signal
                  else f"the process died: {kind}" if kind
                  else "the process ended without a Python error (os._exit, SIGKILL, or out of memory)")
    if where:
        reason += f", in {where}"
    variables = journal.get("variables")
    adapter = session_of(config).backends.get(cell.backend)
    example: dict[str, str] = {}
    source = None
    if variables is not None:
        example = {k: engine._show(v) for k, v in variables.items()}
        if isinstance(cell.item, GradientCheck):  # the differentiated program it ran
            usable = adapter is not None and not isinstance(adapter, Unavailable)
            source = (program_run(cell.item, variables, adapter) if usable  # type: ignore[arg-type]
                      else cell.item.case.program).source
        else:
            source = cell.item.program.source  # type: ignore[union-attr]
    elif journal and cell.kind == "example":
        source = "\n".join(s.program.source.rstrip() for s in cell.item.steps)  # type: ignore[union-attr]
    repro = None
    if source is not None and adapter is not None and not isinstance(adapter, Unavailable):
        try:
            repro = reproducer(adapter, source, variables or {})
        except Exception:  # a reproducer is a courtesy: the inputs are shown anyway
            repro = None
    running = ("while running the notes' example" if cell.kind == "example" and journal
               else "while running the example below" if variables is not None
               else "before or after its examples (setup or teardown)")
    message = f"{cell.backend} {outcome}: {cell.spec.id} / {cell.item.id}: {reason}, {running}"
    if example:
        message += ": " + ", ".join(f"{k} = {v}" for k, v in example.items())
    done = int(journal.get("examples", 0))
    duration = time.time() - float(journal.get("started") or time.time())
    failure: dict[str, Any] = {"message": message, "example": example, "outputs": [], "reproducer": repro}
    registered = next((e for e in session_of(config).registry.for_cell(
        cell.spec.id, cell.item.id, cell.backend) if e.explains_crash(variables)), None)
    if outcome == "crash" and registered is not None:
        # a registered library crash (problems: [crash]): known, shown with its signal
        failure["message"] = f"{message}\nregistered divergence {registered.id}: {registered.reason}"
        return results.cell_record(
            cell, outcome="divergence", reason=registered.reason, link=registered.link,
            examples=done, duration=duration, failure=failure,
            divergence={**registered.to_json(), "observed": 1})
    return results.cell_record(
        cell, outcome=outcome, reason=reason, link=None, examples=done, duration=duration,
        failure=failure, divergence=None)
