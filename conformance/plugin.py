"""The pytest side: collection of (item, backend) cells, outcomes, results (the options are
in activation.py).

``activation.py`` registers these hooks for a run that collects the suite, so
``pytest conformance/`` (or ``pytest --pyargs tensor_conformance``) runs
every spec on every selected backend.  Each cell is one test item whose id reads
``test_case[reductions/sum_axis/any_axis-numpy]``; generated cases are real
``@given`` tests, so shrinking, the example database and ``--hypothesis-seed``
work as usual (in the deterministic profiles they first replay their case's
shared examples, drawn once for every backend: corpus.py).  Every cell ends as
pass, fail, divergence (shown as xfail), stale (a failure in the deterministic
profile) or not applicable (a skip with its reason), and is recorded in
``reports/results.json``.
"""

from __future__ import annotations

import contextlib
import platform
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from tensor_conformance import (
    completeness,
    corpus,
    divergences,
    engine,
    hooks,
    isolation,
    locations,
    results,
)
from tensor_conformance.adapters import registry
from tensor_conformance.adapters.protocol import Adapter, NotApplicable
from tensor_conformance.adapters.registry import Unavailable
from tensor_conformance.differentiation import GradientCheck, examples_per_cell, gradient_check
from tensor_conformance.engine import CellRun, ConformanceFailure, missing_capability
from tensor_conformance.program import ProgramError
from tensor_conformance.requirements import missing_method
from tensor_conformance.spec import Case, Claim, Example, Spec, SpecError, load_all

DETERMINISTIC_PROFILES = ("ci", "default")


@dataclass(frozen=True, repr=False)
class Cell:
    """One spec item (a literal example or a generated case) on one backend."""

    spec: Spec
    item: Example | Case | GradientCheck
    backend: str

    def __repr__(self) -> str:
        return f"Cell({self.id!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # hypothesis's "Failing test case" line

    @property
    def id(self) -> str:
        return f"{self.spec.id}/{self.item.id}-{self.backend}"

    @property
    def kind(self) -> str:
        if isinstance(self.item, GradientCheck):
            return "gradient"
        return "example" if isinstance(self.item, Example) else "generated"

    @property
    def claims(self) -> tuple[str, ...]:
        """The claims the cell checks: a case's or example's own list (default: its
        spec's); a gradient cell checks differentiation's claims, not its case's (a
        library without autograd keeps its forward results)."""
        if isinstance(self.item, GradientCheck):
            return self.item.claims
        return self.item.claims or self.spec.claims


@dataclass
class Session:
    specs: list[Spec]
    claims: dict[str, Claim]
    registry: divergences.Registry
    backends: dict[str, Adapter | Unavailable]
    started: float
    records: list[dict[str, Any]]
    runs: dict[str, CellRun]
    #: the corpus of the generated cell about to run (corpus.py), by cell id
    corpora: dict[str, corpus.Corpus] = field(default_factory=dict)


_SESSION_KEY = pytest.StashKey[Session]()


def _names(values: list[str]) -> list[str]:
    names = [n.strip() for value in values for n in value.split(",")]
    return list(dict.fromkeys(n for n in names if n))


def _selected(config: pytest.Config) -> list[str]:
    return _names(config.getoption("backend")) or list(registry.DEFAULT_BACKENDS)


def _check_required(config: pytest.Config, loaded: dict[str, Adapter | Unavailable]) -> None:
    """--require-backends: each name must be selected (by its --backend spelling or its
    adapter's name) and available; CI names the backends a green run must have run."""
    by_name = {**loaded, **{b.name: b for b in loaded.values() if not isinstance(b, Unavailable)}}
    for name in _names(config.getoption("require_backends")):
        if name not in by_name:
            raise registry.AdapterError(
                f"--require-backends {name}: not among the selected backends "
                f"({', '.join(loaded)}); select it with --backend")
        backend = by_name[name]
        if isinstance(backend, Unavailable):
            raise registry.AdapterError(
                f"--require-backends {name}: backend {name!r} is not available: {backend.reason}")


def pytest_configure(config: pytest.Config) -> None:
    engine.EAGER_ONLY = bool(config.getoption("eager", False))
    corpus.DRAW_PER_CELL = bool(config.getoption("draw_per_cell", False))
    specs_dir = Path(config.getoption("specs"))
    try:
        specs, claims = load_all(specs_dir)
        added = [Path(p) for p in config.getoption("divergences")]
        for path in added:
            if not path.exists():
                raise SpecError(path, "", "--divergences: no such file or folder")
        reg = divergences.load([specs_dir / "divergences", *added], specs)
        backends: dict[str, Adapter | Unavailable] = {}
        loaded: dict[str, Adapter | Unavailable] = {}
        for selection in _selected(config):
            backend = loaded[selection] = registry.load(selection)
            # a backend is known by its own name (a path:Class selection reads badly in ids)
            name = backend.name
            if name in backends:
                raise registry.AdapterError(f"--backend: two backends are named {name!r}")
            backends[name] = backend
        _check_required(config, loaded)
        reg.check_backends(registry.known_names() | set(backends))
        _check_report_dir(config)
    except (SpecError, registry.AdapterError) as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_SESSION_KEY] = Session(specs, claims, reg, backends, time.time(), [], {})
    isolation.configure(config, len(all_cells(session_of(config))))
    completeness.register(config)


def _check_report_dir(config: pytest.Config) -> None:
    """--report-dir must be a folder (or not exist yet): fail now, not after the run."""
    if config.getoption("no_report") or hasattr(config, "workerinput"):
        return
    out = Path(config.getoption("report_dir"))
    existing = next((p for p in (out, *out.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise registry.AdapterError(f"--report-dir {out}: {existing} is a file, not a folder")


def session_of(config: pytest.Config) -> Session:
    return config.stash[_SESSION_KEY]


def pytest_report_header(config: pytest.Config) -> list[str]:
    s = session_of(config)
    lines = [f"tensor-conformance: {len(s.specs)} specs, {len(s.claims)} claims, "
             f"hypothesis profile {settings.get_current_profile_name()!r}"]
    for name, backend in s.backends.items():
        if isinstance(backend, registry.Broken):
            lines.append(f"  {name}: BROKEN: {backend.reason}")
        elif isinstance(backend, registry.Unavailable):
            lines.append(f"  {name}: not available ({backend.reason})")
        else:
            found, problem = hooks.versions(backend)
            versions = problem or ", ".join(f"{k} {v}" for k, v in found.items())
            lines.append(f"  {name}: {versions}; defaults {backend.policy.default_int}/"
                         f"{backend.policy.default_float}")
    return lines


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test function with no cells (e.g. no spec has examples) is dropped, not skipped:
    an empty selection must read as "no tests collected", never as a pass."""
    empty = [i for i in items if isinstance(i, pytest.Function) and hasattr(i, "callspec")
             and "cell" in i.callspec.params and _cell(i) is None]
    if empty:
        config.hook.pytest_deselected(items=empty)
        items[:] = [i for i in items if i not in empty]
    # a case's cells next to each other (its generated cells, then its gradient cells,
    # on every backend): they replay one corpus, which each worker draws once
    items.sort(key=_case_of)


def _case_of(item: pytest.Item) -> tuple[str, str]:
    cell = _cell(item)
    if cell is None or isinstance(cell.item, Example):
        return ("", "")
    case = cell.item.case if isinstance(cell.item, GradientCheck) else cell.item
    return (cell.spec.id, case.id)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cell" not in metafunc.fixturenames:
        return
    kind = TEST_FUNCTIONS[metafunc.function.__name__]
    cells = [c for c in all_cells(session_of(metafunc.config)) if c.kind == kind]
    metafunc.parametrize("cell", cells, ids=[c.id for c in cells])


#: the test function that runs each kind of cell (conformance/test_conformance.py)
TEST_FUNCTIONS = {"test_example": "example", "test_case": "generated",
                  "test_gradient": "gradient"}


def all_cells(s: Session) -> list[Cell]:
    """Every selected cell: each literal example, generated case and gradient check
    (a generated case differentiated) on each backend."""
    cells = []
    for spec in s.specs:
        gradients = [g for c in spec.cases if (g := gradient_check(c)) is not None]
        items: tuple[Example | Case | GradientCheck, ...] = (
            *spec.examples, *spec.cases, *gradients)
        cells += [Cell(spec, item, backend) for item in items for backend in s.backends]
    return cells


def cell_for_nodeid(config: pytest.Config, nodeid: str) -> Cell | None:
    """The cell a test id such as ``...::test_case[tensors/cumsum/any_axis-numpy]`` runs."""
    if _NODEIDS_KEY not in config.stash:
        function = {kind: name for name, kind in TEST_FUNCTIONS.items()}
        config.stash[_NODEIDS_KEY] = {
            f"{function[c.kind]}[{c.id}]": c for c in all_cells(session_of(config))}
    return config.stash[_NODEIDS_KEY].get(nodeid.rpartition("::")[2])


_NODEIDS_KEY = pytest.StashKey[dict[str, Cell]]()


# -- running a cell ------------------------------------------------------------------------
def adapter_for(config: pytest.Config, cell: Cell) -> Adapter:
    """The cell's backend, or a skip (not applicable) with the reason."""
    backend = session_of(config).backends[cell.backend]
    if isinstance(backend, registry.Broken):
        raise hooks.AdapterHookError(backend.reason)
    if isinstance(backend, registry.Unavailable):
        pytest.skip(f"not applicable: {backend.reason}")
    # a gradient cell calls its case's methods (autograd's are a capability)
    item = cell.item.case if isinstance(cell.item, GradientCheck) else cell.item
    reason = missing_capability(cell.item.needs, backend) or missing_method(item, backend)
    if reason:
        pytest.skip(f"not applicable: {reason}")
    return backend


def run_of(config: pytest.Config, cell: Cell) -> CellRun:
    return session_of(config).runs.setdefault(cell.id, CellRun())


def entries_for(config: pytest.Config, cell: Cell) -> list[divergences.Divergence]:
    return session_of(config).registry.for_cell(cell.spec.id, cell.item.id, cell.backend)


def corpus_of(config: pytest.Config, cell: Cell) -> corpus.Corpus | None:
    """The generated case's shared examples (corpus.py), drawn before the cell's call
    (never inside its ``@given`` test); None where the cell draws its own."""
    return session_of(config).corpora.get(cell.id)


def _prepare_corpus(config: pytest.Config, cell: Cell, backend: Adapter) -> None:
    if cell.kind == "example" or not corpus.replays():
        return
    case = cell.item.case if isinstance(cell.item, GradientCheck) else cell.item
    assert isinstance(case, Case)
    if missing_capability(cell.item.needs, backend) or missing_method(case, backend):
        return  # not applicable: the test says why, nothing to draw
    s = session_of(config)
    key = f"{cell.spec.id}/{cell.item.id}"
    start = time.perf_counter()
    if isinstance(cell.item, GradientCheck):
        # its own draws (float dtypes only); the reference runs with the cotangents
        shared, drawn = corpus.corpus_for(key, case, (), cell.item.given, examples_per_cell())
    else:
        policies = tuple(b.policy for b in s.backends.values() if not isinstance(b, Unavailable))
        shared, drawn = corpus.corpus_for(key, case, policies)
    if drawn:
        run = run_of(config, cell)
        run.corpus_draw_s = time.perf_counter() - start
        run.seconds["corpus_reference"] = shared.reference_s
    s.corpora = {cell.id: shared}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Before the call, a generated case's corpus is drawn (corpus.py; outside the
    ``@given`` test).  After it, a cell whose corpus example failed but whose search did
    not meet the failure again fails with that example; and the adapter's
    ``after_cell()`` ends the cell's call: if it raises, that cell fails with one line
    (in teardown it would break the next cell, of any backend)."""
    cell = _cell(item)
    backend = session_of(item.config).backends.get(cell.backend) if cell else None
    if cell is None or backend is None or isinstance(backend, registry.Unavailable):
        return (yield)
    try:
        _prepare_corpus(item.config, cell, backend)
        result = yield
        found = run_of(item.config, cell).corpus_failure
        if isinstance(found, ConformanceFailure):
            raise corpus.CorpusFailure.unshrunk(found)
        if found is not None:  # an error: raised as is, so its origin (the suite's own
            found.add_note(corpus.UNSHRUNK)  # code, the spec, the backend) is classified
            raise found
    except BaseException:
        with contextlib.suppress(Exception):  # the cell's own error is the one to show
            engine.after_cell(backend)
        raise
    try:
        engine.after_cell(backend)
    except Exception as exc:
        raise hooks.AdapterHookError.about(backend.name, "after_cell()", hooks.raised(exc)) from exc
    return result


def pytest_runtest_setup(item: pytest.Item) -> None:
    cell = _cell(item)
    if cell is not None:
        session_of(item.config).runs[cell.id] = CellRun()
        item.user_properties.append(("claims", ",".join(cell.claims)))
        item.user_properties.append(("backend", cell.backend))


def _cell(item: pytest.Item) -> Cell | None:
    callspec = getattr(item, "callspec", None)
    cell = callspec.params.get("cell") if callspec else None
    return cell if isinstance(cell, Cell) else None  # empty parameter sets hold a placeholder


# -- outcomes ----------------------------------------------------------------------------
@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    cell = _cell(item)
    if cell is None or call.when != "call":
        return report
    s = session_of(item.config)
    run = s.runs.get(cell.id, CellRun())
    entries = {e.id: e for e in entries_for(item.config, cell)}
    outcome, reason, link, divergence = "pass", None, None, None
    failure: dict[str, Any] | None = None
    excinfo = call.excinfo
    if excinfo is not None and excinfo.errisinstance(pytest.skip.Exception):
        outcome, reason = "not_applicable", str(excinfo.value).removeprefix("not applicable: ")
    elif excinfo is not None and excinfo.errisinstance(NotApplicable):
        outcome, reason = "not_applicable", str(excinfo.value)
        report.outcome, report.longrepr = "skipped", (str(item.path), 0, f"not applicable: {reason}")
    elif excinfo is not None:
        outcome = "fail"
        if excinfo.errisinstance(hooks.AdapterHookError):
            failure = {"message": str(excinfo.value), "example": {}, "outputs": [],
                       "reproducer": None}
            report.longrepr = str(excinfo.value)
        elif isinstance(raised := _leading(excinfo.value), ConformanceFailure):
            failure = raised.details
        else:
            failure = _error_record(cell, raised)
            if failure["kind"] != "error":
                report.longrepr = f"{failure['message']}\n\n{report.longrepr}"
    else:
        stale = [e for eid, e in entries.items() if run.conformed[eid] and not run.observed[eid]]
        seen = [e for eid, e in entries.items() if run.observed[eid]]
        if stale:
            e = stale[0]
            outcome, reason, link = "stale", (
                f"registered divergence {e.id} did not reproduce in {run.conformed[e.id]} "
                f"examples that meet its conditions: remove or narrow it ({e.reason})"), e.link
            divergence = {**e.to_json(), "observed": 0}
            if settings.get_current_profile_name() in DETERMINISTIC_PROFILES:
                report.outcome, report.longrepr = "failed", f"stale divergence: {reason}"
        elif seen:
            e = seen[0]
            outcome, reason, link = "divergence", e.reason, e.link
            divergence = {**e.to_json(), "observed": run.observed[e.id]}
            report.outcome, report.wasxfail = "skipped", f"known divergence {e.id}: {e.reason}"
        elif run.examples and not run.checked and not getattr(cell.item, "raises", ()):
            outcome = "fail"
            failure = {"message": f"vacuous: none of the {run.examples} examples compared a "
                       "value or reached a holds/agree check (every output raised on both "
                       "sides); a case whose claim is the error says so with raises:",
                       "example": {}, "outputs": [], "reproducer": None, "kind": "vacuous"}
            report.outcome, report.longrepr = "failed", failure["message"]
        elif reason := functional_reason(s.backends[cell.backend], cell.item.needs,
                                         cell.item.operations):
            outcome = "functional"
        elif run.examples == 0 and isinstance(cell.item, GradientCheck):
            outcome, reason = "not_applicable", cell.item.nothing_to_differentiate(run)
            report.outcome, report.longrepr = "skipped", (str(item.path), 0,
                                                          f"not applicable: {reason}")
        elif run.examples == 0:
            outcome = "fail"
            failure = {"message": "no example was run: a pass that checked nothing",
                       "example": {}, "outputs": [], "reproducer": None}
            report.outcome, report.longrepr = "failed", failure["message"]
    report.conformance_cell = results.cell_record(
        cell, outcome=outcome, reason=reason, link=link, examples=run.examples,
        checked=run.checked, duration=call.duration, staged=run.staged,
        replayed=run.replayed, corpus_draw=run.corpus_draw_s, seconds=dict(run.seconds),
        oracles=dict(run.oracles), failure=failure, divergence=divergence)
    return report


def _raised_in_suite(exc: BaseException) -> str | None:
    """``file:line`` of the innermost frame when it is the suite's own code, else None."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return None
    path = Path(tb.tb_frame.f_code.co_filename).resolve()
    if any(path.is_relative_to(folder) for folder in locations.SUITE_CODE):
        return f"{locations.shown(path)}:{tb.tb_lineno}"
    return None


def _leading(exc: BaseException) -> BaseException:
    """The exception a cell's record shows: ``exc`` itself, or, where hypothesis found
    several distinct failures and raised them as one ExceptionGroup, its first
    disagreement (a ConformanceFailure, with its example and outputs), else its first."""
    leaves: list[BaseException] = []
    pending = [exc]
    while pending:
        e = pending.pop(0)
        if isinstance(e, BaseExceptionGroup) and e.exceptions:
            pending[:0] = e.exceptions
        else:
            leaves.append(e)
    return next((e for e in leaves if isinstance(e, ConformanceFailure)), leaves[0])


def _error_record(cell: Cell, exc: BaseException) -> dict[str, Any]:
    """The failure record of an exception that is no disagreement: an error of the spec
    (code the interpreter cannot run, a loop that does not end), of the suite's own code,
    or of the backend (its adapter or library raised where the engine called it)."""
    exc = _leading(exc)
    text = f"{type(exc).__name__}: {exc}"
    where = _raised_in_suite(exc)
    if isinstance(exc, ProgramError):
        kind, message = "spec_error", f"error of the spec {cell.spec.path} ({cell.item.id}): {exc}"
    elif where is not None:
        kind, message = "suite_error", (f"error of the suite (not of {cell.backend}): {text} "
                                        f"at {where}")
    else:
        kind, message = "error", text
    return {"message": message, "example": {}, "outputs": [], "reproducer": None, "kind": kind}


def functional_reason(backend: Adapter | registry.Unavailable, needs: frozenset[str],
                      operations: frozenset[str] = frozenset()) -> str | None:
    """Why a passing cell was checked through a functional equivalent, if it was: per
    capability, the adapter's ``explain_functional(capability, operations)`` (which of
    the cell's operations the library did, which the adapter emulated) where it has one,
    else its ``functional`` reason."""
    functional: dict[str, str] = getattr(backend, "functional", {})
    explain = getattr(backend, "explain_functional", None)
    used = [(explain(cap, operations) if explain else None) or functional[cap]
            for cap in sorted(needs) if cap in functional]
    return "; ".join(used) or None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    record = getattr(report, "conformance_cell", None)
    if record is not None and report.when == "call" and _CONFIG is not None:
        session_of(_CONFIG).records.append(record)


_CONFIG: pytest.Config | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    global _CONFIG
    _CONFIG = session.config


def _runs_cells(config: pytest.Config) -> bool:
    """False in xdist workers (the controller reports) and under ``--collect-only``
    (nothing runs: no outcome is missing, and the last run's report stays)."""
    return not hasattr(config, "workerinput") and not config.option.collectonly


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if not _runs_cells(config):
        return
    s = session_of(config)
    run = completeness.run_fields(config, session, exitstatus, s.records,
                                  lambda nodeid: cell_for_nodeid(config, nodeid))
    if run and not run["complete"] and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # cells without an outcome
    if _adapter_problems(s) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if config.getoption("no_report"):
        return
    data = results.build(
        records=s.records, claims=s.claims, backends=s.backends,
        started=s.started, duration=time.time() - s.started,
        command=" ".join(["pytest", *sys.argv[1:]]),
        python=platform.python_version(), platform_name=platform.platform(),
        profile=settings.get_current_profile_name(),
        seed=config.getoption("hypothesis_seed", None),
    )
    data["run"].update(run)
    out = Path(config.getoption("report_dir"))
    results.write(data, out)


def _adapter_problems(s: Session) -> list[str]:
    """One line per adapter hook that broke outside any cell (``versions()``)."""
    return [problem for b in s.backends.values() if not isinstance(b, registry.Unavailable)
            for problem in [hooks.versions(b)[1]] if problem]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _runs_cells(config):
        return
    s = session_of(config)
    partial = completeness.summary_line(completeness.last_fields(config))
    if partial:
        terminalreporter.write_line(partial, red=True, bold=True)
    for problem in _adapter_problems(s):
        terminalreporter.write_line(f"ERROR {problem}", red=True, bold=True)
    if not s.records:
        return
    counts: dict[str, Counter[str]] = {}
    for r in s.records:
        counts.setdefault(r["backend"], Counter())[r["outcome"]] += 1
    columns = ["pass", "functional", "fail", "crash", "timeout", "divergence", "stale",
               "not_applicable"]
    tr = terminalreporter
    tr.section("tensor-conformance summary")
    width = max(14, *(len(b) + 2 for b in counts))  # array-api:array_api_strict is long
    tr.write_line(f"{'backend':<{width}}" + "".join(f"{c:>16}" for c in columns) + f"{'examples':>10}"
                  + f"{'checked':>10}" + f"{'ms/example':>12}")
    for backend, counter in counts.items():
        examples = sum(r["examples"] for r in s.records if r["backend"] == backend)
        checked = sum(r.get("checked_examples", 0) for r in s.records if r["backend"] == backend)
        per = results.cost(backend, s.records)["per_example_s"]
        tr.write_line(f"{backend:<{width}}" + "".join(f"{counter[c]:>16}" for c in columns)
                      + f"{examples:>10}" + f"{checked:>10}"
                      + (f"{1000 * per:>12.1f}" if per else f"{'-':>12}"))
    tr.write_line("checked: examples that compared a value or reached a holds/agree check "
                  "(not those where both sides only raised)")
    if not config.getoption("no_report"):
        out = Path(config.getoption("report_dir"))
        tr.write_line(f"report: {out / 'index.html'}  data: {out / 'results.json'}")

