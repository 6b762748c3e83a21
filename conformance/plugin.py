"""The pytest side: options, collection of (item, backend) cells, outcomes, results.

``conformance/conftest.py`` imports these hooks, so ``pytest conformance/`` runs
every spec on every selected backend.  Each cell is one test item whose id reads
``test_case[reductions/sum_axis/any_axis-numpy]``; generated cases are real
``@given`` tests, so shrinking, the example database and ``--hypothesis-seed``
work as usual.  Every cell ends as pass, fail, divergence (shown as xfail),
stale (a failure in the deterministic profile) or not applicable (a skip with
its reason), and is recorded in ``reports/results.json``.
"""

from __future__ import annotations

import platform
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from adapters import registry
from adapters.protocol import Adapter, NotApplicable
from conformance import divergences, engine, results
from conformance.differentiation import GradientCheck, gradient_check
from conformance.engine import CellRun, ConformanceFailure, missing_capability
from conformance.spec import Case, Claim, Example, Spec, SpecError, load_all

ROOT = Path(__file__).resolve().parent.parent
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
        """A gradient cell checks differentiation's claims, not its case's (a library
        without autograd keeps its forward results)."""
        return self.item.claims if isinstance(self.item, GradientCheck) else self.spec.claims


@dataclass
class Session:
    specs: list[Spec]
    claims: dict[str, Claim]
    registry: divergences.Registry
    backends: dict[str, Adapter | registry.Unavailable]
    started: float
    records: list[dict[str, Any]]
    runs: dict[str, CellRun]


_SESSION_KEY = pytest.StashKey[Session]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "tensor-conformance")
    group.addoption("--backend", action="append", default=[], metavar="NAME[,NAME...]",
                    help="backends to check: built-in names "
                    f"({', '.join(registry.BUILTIN)}), package.module:Class or "
                    f"path/to/file.py:Class (default: {','.join(registry.DEFAULT_BACKENDS)})")
    group.addoption("--specs", default=str(ROOT / "specs"), metavar="DIR",
                    help="folder of spec files (default: specs/)")
    group.addoption("--divergences", default=None, metavar="FILE",
                    help="known-divergence registry, a file or a folder of files "
                    "(default: <specs>/divergences/)")
    group.addoption("--report-dir", default="reports", metavar="DIR",
                    help="where results.json and index.html go (default: reports/)")
    group.addoption("--no-report", action="store_true", help="write no results.json/index.html")
    group.addoption("--eager", action="store_true",
                    help="never compile a whole case program (JAX: jax.jit); run every "
                    "operation on its own, as the notes do")


def _selected(config: pytest.Config) -> list[str]:
    names = [n.strip() for value in config.getoption("backend") for n in value.split(",")]
    names = [n for n in names if n] or list(registry.DEFAULT_BACKENDS)
    return list(dict.fromkeys(names))


def pytest_configure(config: pytest.Config) -> None:
    engine.EAGER_ONLY = bool(config.getoption("eager", False))
    specs_dir = Path(config.getoption("specs"))
    try:
        specs, claims = load_all(specs_dir)
        reg = divergences.load(
            Path(config.getoption("divergences") or specs_dir / "divergences"), specs)
        backends: dict[str, Adapter | registry.Unavailable] = {}
        for selection in _selected(config):
            backend = registry.load(selection)
            # a backend is known by its own name (a path:Class selection reads badly in ids)
            name = backend.name if not isinstance(backend, registry.Unavailable) else selection
            if name in backends:
                raise registry.AdapterError(f"--backend: two backends are named {name!r}")
            backends[name] = backend
    except (SpecError, registry.AdapterError) as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_SESSION_KEY] = Session(specs, claims, reg, backends, time.time(), [], {})


def session_of(config: pytest.Config) -> Session:
    return config.stash[_SESSION_KEY]


def pytest_report_header(config: pytest.Config) -> list[str]:
    s = session_of(config)
    lines = [f"tensor-conformance: {len(s.specs)} specs, {len(s.claims)} claims, "
             f"hypothesis profile {settings.get_current_profile_name()!r}"]
    for name, backend in s.backends.items():
        if isinstance(backend, registry.Unavailable):
            lines.append(f"  {name}: not available ({backend.reason})")
        else:
            versions = ", ".join(f"{k} {v}" for k, v in backend.versions().items())
            lines.append(f"  {name}: {versions}; defaults {backend.policy.default_int}/"
                         f"{backend.policy.default_float}")
    return lines


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test function with no cells (e.g. no spec has examples) is dropped, not skipped:
    an empty selection must read as "no tests collected", never as a pass."""
    empty = [i for i in items if getattr(i, "callspec", None) is not None
             and "cell" in i.callspec.params and _cell(i) is None]
    if empty:
        config.hook.pytest_deselected(items=empty)
        items[:] = [i for i in items if i not in empty]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cell" not in metafunc.fixturenames:
        return
    s = session_of(metafunc.config)
    want = Example if metafunc.function.__name__ == "test_example" else Case
    items: dict[str, list[Example | Case | GradientCheck]] = {
        spec.id: [item for item in (*spec.examples, *spec.cases) if isinstance(item, want)]
        for spec in s.specs}
    if metafunc.function.__name__ == "test_gradient":
        items = {k: [g for c in v if isinstance(c, Case) and (g := gradient_check(c)) is not None]
                 for k, v in items.items()}
    cells = [Cell(spec, item, backend)
             for spec in s.specs for item in items[spec.id] for backend in s.backends]
    metafunc.parametrize("cell", cells, ids=[c.id for c in cells])


# -- running a cell ------------------------------------------------------------------------
def adapter_for(config: pytest.Config, cell: Cell) -> Adapter:
    """The cell's backend, or a skip (not applicable) with the reason."""
    backend = session_of(config).backends[cell.backend]
    if isinstance(backend, registry.Unavailable):
        pytest.skip(f"not applicable: {backend.reason}")
    reason = missing_capability(cell.item.needs, backend)
    if reason:
        pytest.skip(f"not applicable: {reason}")
    return backend


def run_of(config: pytest.Config, cell: Cell) -> CellRun:
    return session_of(config).runs.setdefault(cell.id, CellRun())


def entries_for(config: pytest.Config, cell: Cell) -> list[divergences.Divergence]:
    return session_of(config).registry.for_cell(cell.spec.id, cell.item.id, cell.backend)


def pytest_runtest_teardown(item: pytest.Item) -> None:
    cell = _cell(item)
    backend = session_of(item.config).backends.get(cell.backend) if cell else None
    if backend is not None and not isinstance(backend, registry.Unavailable):
        engine.after_cell(backend)


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
    outcome, reason, link, failure, divergence = "pass", None, None, None, None
    excinfo = call.excinfo
    if excinfo is not None and excinfo.errisinstance(pytest.skip.Exception):
        outcome, reason = "not_applicable", str(excinfo.value.msg).removeprefix("not applicable: ")
    elif excinfo is not None and excinfo.errisinstance(NotApplicable):
        outcome, reason = "not_applicable", str(excinfo.value)
        report.outcome, report.longrepr = "skipped", (str(item.path), 0, f"not applicable: {reason}")
    elif excinfo is not None:
        outcome = "fail"
        if excinfo.errisinstance(ConformanceFailure):
            failure = excinfo.value.details
        else:
            failure = {"message": f"{excinfo.typename}: {excinfo.value}", "example": {},
                       "outputs": [], "reproducer": None}
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
        elif functional_reason(s.backends[cell.backend], cell.item.needs):
            outcome = "functional"
            reason = functional_reason(s.backends[cell.backend], cell.item.needs)
        elif run.examples == 0:
            outcome = "fail"
            failure = {"message": "no example was run: a pass that checked nothing",
                       "example": {}, "outputs": [], "reproducer": None}
            report.outcome, report.longrepr = "failed", failure["message"]
    report.conformance_cell = results.cell_record(
        cell, outcome=outcome, reason=reason, link=link, examples=run.examples,
        duration=call.duration, staged=run.staged,
        oracles=dict(run.oracles), failure=failure, divergence=divergence)
    return report


def functional_reason(backend: Adapter | registry.Unavailable, needs: frozenset[str]) -> str | None:
    """Why a passing cell was checked through a functional equivalent, if it was."""
    functional: dict[str, str] = getattr(backend, "functional", {})
    used = [functional[cap] for cap in sorted(needs) if cap in functional]
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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput") or config.getoption("no_report"):
        return
    s = session_of(config)
    data = results.build(
        records=s.records, claims=s.claims, backends=s.backends,
        started=s.started, duration=time.time() - s.started,
        command=" ".join(["pytest", *sys.argv[1:]]),
        python=platform.python_version(), platform_name=platform.platform(),
        profile=settings.get_current_profile_name(),
        seed=config.getoption("hypothesis_seed", None),
    )
    out = Path(config.getoption("report_dir"))
    results.write(data, out)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    s = session_of(config)
    if not s.records:
        return
    counts: dict[str, Counter[str]] = {}
    for r in s.records:
        counts.setdefault(r["backend"], Counter())[r["outcome"]] += 1
    columns = ["pass", "functional", "fail", "divergence", "stale", "not_applicable"]
    tr = terminalreporter
    tr.section("tensor-conformance summary")
    tr.write_line(f"{'backend':<14}" + "".join(f"{c:>16}" for c in columns) + f"{'examples':>10}"
                  + f"{'ms/example':>12}")
    for backend, counter in counts.items():
        examples = sum(r["examples"] for r in s.records if r["backend"] == backend)
        per = results.cost(backend, s.records)["per_example_s"]
        tr.write_line(f"{backend:<14}" + "".join(f"{counter[c]:>16}" for c in columns)
                      + f"{examples:>10}" + (f"{1000 * per:>12.1f}" if per else f"{'-':>12}"))
    if not config.getoption("no_report"):
        out = Path(config.getoption("report_dir"))
        tr.write_line(f"report: {out / 'index.html'}  data: {out / 'results.json'}")

