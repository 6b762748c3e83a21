"""The test functions every spec is fed into (parametrized by plugin.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import UnsatisfiedAssumption

from tensor_conformance import differentiation, engine, isolation
from tensor_conformance.adapters.protocol import Adapter, NotApplicable
from tensor_conformance.corpus import Corpus
from tensor_conformance.differentiation import GradientCheck
from tensor_conformance.divergences import Divergence
from tensor_conformance.engine import CellRun
from tensor_conformance.plugin import Cell, adapter_for, corpus_of, entries_for, run_of
from tensor_conformance.spec import Case, Example
from tensor_conformance.strategies import draw_all

# a library's warnings (deprecations, x64 notices) are not disagreements: show, don't fail
pytestmark = pytest.mark.filterwarnings("default")


def test_example(cell: Cell, request: pytest.FixtureRequest) -> None:
    """The notes' literal example, checked against what the notes print."""
    adapter = adapter_for(request.config, cell)
    assert isinstance(cell.item, Example)
    engine.run_example(cell.spec, cell.item, adapter, entries_for(request.config, cell),
                       run_of(request.config, cell))


@given(data=st.data())
def test_case(cell: Cell, request: pytest.FixtureRequest, data: st.DataObject) -> None:
    """A generated case: the reference is the oracle.  The first call replays the case's
    shared corpus (conformance/corpus.py) and, if every example passes, draws nothing,
    which ends the test; otherwise, and where there is no corpus, hypothesis draws the
    inputs, searches and shrinks as usual."""
    adapter = adapter_for(request.config, cell)
    case = cell.item
    assert isinstance(case, Case)
    run, entries = run_of(request.config, cell), entries_for(request.config, cell)
    if replayed(cell, request, adapter, entries, run):
        return  # nothing drawn: hypothesis ends the test
    variables = draw_all(data, case.given)
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed") if "random" in case.needs else 0
    isolation.record_example(cell, variables, seed, run.examples)
    engine.run_case_example(cell.spec, case, adapter, variables, seed, entries, run)


def replayed(cell: Cell, request: pytest.FixtureRequest, adapter: Adapter,
             entries: list[Divergence], run: CellRun) -> bool:
    """On the first call of a cell's test: replay its corpus, if it has one; True when
    every example passed.  Otherwise (no corpus, a corpus example failed, a later
    call) the call draws: hypothesis searches and shrinks on this backend."""
    if run.searching:
        return False
    run.searching = True  # every later call draws
    shared = corpus_of(request.config, cell)
    if shared is None:
        return False
    run.corpus_failure = replay(cell, shared, adapter, entries, run)
    return run.corpus_failure is None


def replay(cell: Cell, shared: Corpus, adapter: Adapter, entries: list[Divergence],
           run: CellRun) -> Exception | None:
    """The corpus's examples on the cell's backend (a gradient cell's own corpus, with
    fixed cotangents); what the first failing one raised."""
    item = cell.item
    for index, example in enumerate(shared):
        variables = example.inputs()
        isolation.record_example(cell, variables, example.seed, run.examples)
        try:
            if isinstance(item, GradientCheck):
                differentiation.run_example(cell.spec, item, adapter,
                                            differentiation.fixed_cotangents(index), variables,
                                            entries, run)
            else:
                assert isinstance(item, Case)
                engine.run_case_example(cell.spec, item, adapter, variables, example.seed,
                                        entries, run, example.references[adapter.policy])
        except UnsatisfiedAssumption:
            continue  # the backend's side cannot check it (engine: Indeterminate)
        except NotApplicable:
            raise
        except Exception as error:
            return error
        finally:
            run.replayed += 1
    return None


@settings(max_examples=differentiation.examples_per_cell())
@given(data=st.data())
def test_gradient(cell: Cell, request: pytest.FixtureRequest, data: st.DataObject) -> None:
    """A generated case, differentiated: its leaves' gradients against the reference's
    tape, finite differences and forward mode (conformance/differentiation.py).  A
    share of the profile's examples (``differentiation.SHARE``)."""
    adapter = adapter_for(request.config, cell)
    check = cell.item
    assert isinstance(check, GradientCheck)
    run, entries = run_of(request.config, cell), entries_for(request.config, cell)
    if replayed(cell, request, adapter, entries, run):
        return  # nothing drawn: hypothesis ends the test
    variables = draw_all(data, check.given)
    isolation.record_example(cell, variables, 0, run.examples)
    differentiation.run_example(cell.spec, check, adapter,
                                differentiation.drawn_cotangents(data), variables, entries, run)
