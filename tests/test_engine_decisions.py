"""How the engine decides one (item, backend) cell (conformance/engine.py), rule by rule.

Each test states one decision as behaviour: which outputs are compared, what an error on
either side means, what a ``raises:``/``holds``/``agree`` line requires, when a registered
divergence explains a difference, which examples count as checked (no vacuous pass), when
a compiled run (``stage``) stands and when its difference is reported as compiling's own,
what a failure report holds, and when a cell is not applicable.  Cases are built here
directly (``Case``/``Spec``) so that each test shows the program it decides on; the
backends are NumPy's adapter and the reference, with one planted fault or a ``stage``
method that runs the whole program as one function (as a tracing compiler would, as far
as the engine can tell).  Everything runs in process, so mutation testing (README) runs
these tests against each mutant of engine.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis.errors import UnsatisfiedAssumption

from tensor_conformance import engine
from tensor_conformance.adapters.numpy_backend import NumpyAdapter
from tensor_conformance.adapters.protocol import NotApplicable
from tensor_conformance.adapters.reference.adapter import ReferenceAdapter
from tensor_conformance.compare import Mismatch
from tensor_conformance.divergences import Divergence
from tensor_conformance.engine import CellRun, ConformanceFailure
from tensor_conformance.observed import Observed
from tensor_conformance.program import Program
from tensor_conformance.spec import Case, Spec, load_all
from tests.conftest import CUMSUM

X = {"A": np.array([1.0, 2.0, 3.0])}
#: integers: every result is exact, so a relation on them is never unsure
INTS = {"A": np.array([1, 2, 3])}
#: 0.1 + 0.1 + 0.1 - 0.3 is zero within rounding error: a quotient by it is not fixed
NEAR_ZERO = {"A": np.array([0.1]), "B": np.array([0.3])}


#: hypothesis's reject() is called here outside a @given test, as a cell's test calls it
REJECT_OUTSIDE_GIVEN = pytest.mark.filterwarnings(
    "ignore:Using `reject` outside a property-based test:hypothesis.errors.HypothesisDeprecationWarning")


def case(code: str, *, holds: tuple[str, ...] = (), agree: tuple[tuple[str, str], ...] = (),
         raises: tuple[str, ...] = (), compiled: bool = False) -> Case:
    """A generated case as the loader builds it: the relations run as extra output lines."""
    extra = [*holds, *(side for pair in agree for side in pair)]
    program = Program.parse(code.rstrip("\n") + "\n" + "\n".join(extra))
    return Case("c", {}, {}, program, holds, agree, raises=raises, compiled=compiled)


def spec_of(c: Case) -> Spec:
    return Spec("tests/engine", Path("engine.yaml"), "the engine's decisions", ("T20",), "",
                (), (c,))


def run_case(c: Case, adapter: Any, variables: dict[str, Any] | None = None,
             entries: list[Divergence] | None = None, run: CellRun | None = None,
             seed: int = 0) -> CellRun:
    run = run if run is not None else CellRun()
    engine.run_case_example(spec_of(c), c, adapter, dict(X if variables is None else variables),
                            seed, entries or [], run)
    return run


def entry(id_: str, *, outputs: tuple[str, ...] | None = None,
          problems: tuple[str, ...] | None = None, compiled: bool = False,
          when: dict[str, tuple[Any, ...]] | None = None) -> Divergence:
    return Divergence(id_, "any", "tests/engine", None, when or {}, outputs, problems,
                      "planted by the test", None, compiled=compiled)


def observed(value: float) -> Observed:
    return Observed("python", value)


def error(text: str = "ValueError: no") -> Observed:
    return Observed("error", error=text)


# -- backends ----------------------------------------------------------------------------
class SumPlusOne(NumpyAdapter):
    """NumPy whose ``sum`` is off by one (every other operation is NumPy's)."""

    name = "numpy-sum-plus-one"

    def sum(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        return super().sum(x, *args, **kwargs) + 1


class CumsumRaises(NumpyAdapter):
    """NumPy whose ``cumsum`` raises where every other backend returns a value."""

    name = "numpy-cumsum-raises"

    def cumsum(self, x: Any, axis: int) -> Any:
        raise RuntimeError("cumsum is broken here")


class Staged(NumpyAdapter):
    """NumPy with a ``stage``: the whole program runs as one function, like ``jax.jit``
    as far as the engine can tell (one compilation per new input signature)."""

    name = "numpy-staged"

    def __init__(self) -> None:
        super().__init__()
        self.stage_calls = 0
        self.cleared = 0

    def stage(self, fn: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
        self.stage_calls += 1
        return fn

    def after_cell(self) -> None:
        self.cleared += 1


class StagedSumPlusOneWhenCompiled(Staged):
    """Right operation by operation, off by one in ``sum`` only inside a compiled run (as
    a compiler's rewrite would be)."""

    name = "numpy-staged-sum-plus-one-compiled"
    tracing = False

    def stage(self, fn: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
        def compiled(*args: Any) -> list[Any]:
            self.tracing = True
            try:
                return fn(*args)
            finally:
                self.tracing = False
        return super().stage(compiled)

    def sum(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        return super().sum(x, *args, **kwargs) + (1 if self.tracing else 0)


class StagedSumPlusOne(Staged, SumPlusOne):
    """Off by one in ``sum`` however it runs, compiled or not."""

    name = "numpy-staged-sum-plus-one"


@pytest.fixture(autouse=True)
def _fresh_stagers() -> Iterator[None]:
    engine._STAGERS.clear()
    yield
    engine._STAGERS.clear()


@contextmanager
def eager_only() -> Iterator[None]:
    saved = engine.EAGER_ONLY
    engine.EAGER_ONLY = True
    try:
        yield
    finally:
        engine.EAGER_ONLY = saved


# -- not applicable: capabilities ------------------------------------------------------------
def test_a_backend_with_every_needed_capability_is_applicable() -> None:
    assert engine.missing_capability(frozenset({"random", "in_place"}), NumpyAdapter()) is None
    assert engine.missing_capability(frozenset(), NumpyAdapter()) is None


def test_the_first_missing_capability_in_name_order_is_named_with_the_backends_reason() -> None:
    needs = frozenset({"random", "compile", "autograd"})
    assert engine.missing_capability(needs, NumpyAdapter()) == (
        "needs autograd: NumPy has no automatic differentiation")


def test_a_missing_capability_the_backend_gives_no_reason_for_is_named_as_undeclared() -> None:
    assert engine.missing_capability(frozenset({"sparse"}), NumpyAdapter()) == (
        "needs sparse: numpy does not declare capability 'sparse'")


# -- which outputs are compared --------------------------------------------------------------
def test_a_backend_that_agrees_on_every_output_passes_and_the_example_is_checked() -> None:
    run = run_case(case("A.sum()\nA.cumsum(0)"), NumpyAdapter())
    assert (run.examples, run.checked, run.staged) == (1, 1, 0)


def test_a_wrong_value_fails_naming_the_output_with_both_sides_in_the_report() -> None:
    with pytest.raises(ConformanceFailure) as failure:
        run_case(case("A.cumsum(0)\nA.sum()"), SumPlusOne())
    details = failure.value.details
    (output,) = details["outputs"]
    assert output["name"] == "A.sum()"
    assert output["problem"] == "value"
    assert output["reference"]["value"].startswith("6. ")
    assert output["backend"]["value"].startswith("7. ")
    assert output["tolerance"] != "exact"  # a float sum is compared within its bound
    assert details["kind"] == "disagreement"
    assert details["example"] == {"A": "tensor([1.0, 2.0, 3.0], dtype=float64)"}
    assert details["message"].splitlines() == [
        "numpy-sum-plus-one disagrees: tests/engine / c", f"  {output_describe(failure)}"]
    assert "print(A.sum())" in details["reproducer"]
    text = str(failure.value)
    assert "minimal example: A = tensor([1.0, 2.0, 3.0], dtype=float64)" in text
    assert "reproducer:\n    " in text


def output_describe(failure: pytest.ExceptionInfo[ConformanceFailure]) -> str:
    return str(failure.value).splitlines()[1].strip()


def test_an_error_in_a_statement_that_is_no_output_is_shown_as_that_statements_error() -> None:
    with pytest.raises(ConformanceFailure) as failure:
        run_case(case("B = A.cumsum(0)\nB"), CumsumRaises())
    (output,) = failure.value.details["outputs"]  # B itself is not reported as missing
    assert output["name"] == "B = A.cumsum(0)"
    assert output["problem"] == "error"
    assert output["reference"]["value"] == "no error (the reference runs it)"
    assert output["backend"]["error"] == "RuntimeError: cumsum is broken here"
    assert output["difference"] == ("expected no error (the reference runs it), "
                                    "got raised RuntimeError: cumsum is broken here")
    assert output["tolerance"] == "exact"


def test_an_error_at_a_statement_the_reference_also_stopped_at_is_compared_as_an_output() -> None:
    program = Program.parse("B = A.reshape(7)\nB")
    ref = {"B = A.reshape(7)": error("ValueError: size")}
    got = {"B = A.reshape(7)": error("ValueError: size")}
    assert engine._differential(program, ref, got) == []


def test_an_output_neither_side_reached_is_not_compared() -> None:
    program = Program.parse("A.reshape(7)\nA.sum()")
    ref = {"A.reshape(7)": error()}
    got = {"A.reshape(7)": error()}
    assert engine._differential(program, ref, got) == []


def test_an_output_only_the_reference_reached_fails_as_not_reached_by_the_backend() -> None:
    program = Program.parse("B = A * 2\nA.sum()\nA.mean()")
    ref = {"A.sum()": observed(6.0), "A.mean()": observed(2.0)}
    got = {"B = A * 2": error("B = A * 2")}
    ref["B = A * 2"] = error("B = A * 2")  # both raised there: the error itself agrees
    assert engine._differential(program, ref, got) == [
        Mismatch("A.sum()", "error", "a value", "not reached: the backend raised earlier")]


def test_an_output_only_the_backend_reached_fails_as_not_reached_by_the_reference() -> None:
    program = Program.parse("B = A * 2\nA.sum()\nA.mean()")
    ref = {"B = A * 2": error()}
    got = {"A.sum()": observed(6.0), "A.mean()": observed(2.0)}
    assert engine._differential(program, ref, got) == [
        Mismatch("A.sum()", "error", "a value", "not reached: the reference raised earlier")]


def test_only_the_first_difference_is_followed_by_no_not_reached_report() -> None:
    program = Program.parse("A.sum()\nA.mean()\nA.numel()")
    ref = {"A.sum()": observed(6.0), "A.mean()": observed(2.0), "A.numel()": observed(3)}
    got = {"A.sum()": observed(7.0)}
    mismatches = engine._differential(program, ref, got)
    assert [(m.output, m.problem) for m in mismatches] == [("A.sum()", "value")]


def test_an_output_before_the_statement_a_compiled_run_raised_at_is_not_compared() -> None:
    """A compiled run that raises returns only that statement's error (staging.py):
    what it computed before is not lost by the backend, it was never returned."""
    program = Program.parse("A.sum()\nA.mean()\nA.reshape(7)")
    ref = {"A.sum()": observed(6.0), "A.mean()": observed(2.0), "A.reshape(7)": error()}
    got = {"A.reshape(7)": error()}
    assert engine._differential(program, ref, got) == []
    # the backend raising earlier than the reference still fails
    assert engine._differential(program, ref, {"A.sum()": observed(6.0),
                                               "A.mean()": error()}) == [
        Mismatch("A.mean()", "error", "2.0", "raised ValueError: no")]


# -- the claim's own relations ----------------------------------------------------------
def test_a_holds_line_false_on_the_backend_fails_as_a_relation() -> None:
    with pytest.raises(ConformanceFailure) as failure:
        run_case(case("A.sum()", holds=("A.sum() == 6",)), SumPlusOne(), INTS)
    problems = {o["name"]: o["problem"] for o in failure.value.details["outputs"]}
    assert problems["A.sum() == 6"] == "relation"


def test_a_holds_line_true_on_the_backend_passes() -> None:
    assert run_case(case("A.sum()", holds=("A.sum() == 6",)), NumpyAdapter(), INTS).checked == 1


def test_a_relation_the_backend_did_not_reach_is_not_judged() -> None:
    c = case("A.sum()", holds=("A.sum() == 6",), agree=(("A.sum()", "A.sum() + 0"),))
    got = {"A.sum()": observed(7.0)}
    assert engine._relations(c, {"A.sum()": observed(6.0)}, got) == []


def test_a_raises_line_on_which_the_backend_returns_a_value_fails() -> None:
    c = case("A.reshape(7)", raises=("A.reshape(7)",))
    got = {"A.reshape(7)": observed(1.0)}
    assert engine._relations(c, {}, got) == [
        Mismatch("A.reshape(7)", "error", "an error (the spec says every backend raises)",
                 "1.0")]
    assert engine._relations(c, {}, {"A.reshape(7)": error()}) == []


def test_a_raises_line_checks_the_example_when_both_sides_raise() -> None:
    run = run_case(case("A.reshape(7)", raises=("A.reshape(7)",)), NumpyAdapter())
    assert (run.examples, run.checked) == (1, 1)


def test_an_example_on_which_both_sides_only_raise_checks_nothing() -> None:
    run = run_case(case("A.reshape(7)"), NumpyAdapter())
    assert (run.examples, run.checked) == (1, 0)


def test_an_output_that_raises_on_one_side_only_is_checked() -> None:
    c = case("A.sum()")
    assert engine._checked(c, {"A.sum()": error()}, {"A.sum()": observed(6.0)})
    assert engine._checked(c, {"A.sum()": observed(6.0)}, {"A.sum()": error()})
    assert not engine._checked(c, {"A.sum()": error()}, {"A.sum()": error()})
    assert not engine._checked(c, {"A.sum()": observed(6.0)}, {})
    assert not engine._checked(c, {}, {"A.sum()": observed(6.0)})


def test_agree_lines_are_checked_pairwise_on_the_backend() -> None:
    c = case("A.sum()", agree=(("A.sum()", "A.cumsum(0)[2]"),))
    with pytest.raises(ConformanceFailure) as failure:
        run_case(c, SumPlusOne())
    names = [o["name"] for o in failure.value.details["outputs"]]
    assert "A.sum()  ==  A.cumsum(0)[2]" in names
    assert names.index("A.sum()") < names.index("A.sum()  ==  A.cumsum(0)[2]")


def test_the_reference_itself_is_judged_by_the_relations_alone() -> None:
    c = case("A.sum()", holds=("A.sum() == 6",))
    run = run_case(c, ReferenceAdapter())
    assert (run.examples, run.checked, run.staged) == (1, 1, 0)
    # its outputs are the reference's, not computed a second time
    assert set(run.seconds) == {"reference", "compare", "gradient_oracles"}
    with pytest.raises(ConformanceFailure) as failure:
        run_case(case("A.sum()", holds=("A.sum() == 7",)), ReferenceAdapter())
    assert failure.value.details["outputs"][0]["problem"] == "relation"
    assert str(failure.value).startswith("reference disagrees: tests/engine / c")


def test_a_subclass_of_the_reference_is_a_backend_compared_with_the_reference() -> None:
    class ReferenceCumsumRaises(ReferenceAdapter):
        name = "reference-cumsum-raises"

        def cumsum(self, x: Any, axis: int) -> Any:
            raise RuntimeError("cumsum is broken here")

    assert not engine._is_oracle(ReferenceCumsumRaises())
    assert engine._is_oracle(ReferenceAdapter())
    with pytest.raises(ConformanceFailure, match=r"A.cumsum\(0\): error differs"):
        run_case(case("A.cumsum(0)"), ReferenceCumsumRaises())


# -- registered divergences -------------------------------------------------------------
def test_a_registered_divergence_explains_its_output_and_is_counted_as_observed() -> None:
    run = run_case(case("A.sum()\nA.cumsum(0)"), SumPlusOne(),
                   entries=[entry("sum", outputs=("A.sum()",), problems=("value",)),
                            entry("cumsum", outputs=("A.cumsum(0)",))])
    assert run.observed == {"sum": 1}
    assert run.conformed == {"cumsum": 1}


def test_a_divergence_that_explains_another_output_leaves_the_failure() -> None:
    with pytest.raises(ConformanceFailure) as failure:
        run_case(case("A.sum()\nA.cumsum(0)"), SumPlusOne(),
                 entries=[entry("cumsum", outputs=("A.cumsum(0)",))])
    assert [o["name"] for o in failure.value.details["outputs"]] == ["A.sum()"]


def test_a_divergence_whose_when_is_not_met_is_neither_observed_nor_conformed() -> None:
    mismatches = [Mismatch("A.sum()", "value", "6.0", "7.0")]
    run = CellRun()
    unexplained = engine._judge(mismatches, [entry("f32", when={"dtype": ("float32",)})],
                                {"dtype": "float64"}, run)
    assert unexplained == mismatches
    assert run.observed == {} and run.conformed == {}


def test_a_compiled_only_divergence_explains_only_a_compiled_run() -> None:
    mismatches = [Mismatch("A.sum()", "value", "6.0", "7.0")]
    jit = entry("jit", compiled=True)
    eager_run, compiled_run = CellRun(), CellRun()
    assert engine._judge(mismatches, [jit], {}, eager_run) == mismatches
    assert eager_run.observed == {} and eager_run.conformed == {}
    assert engine._judge(mismatches, [jit], {}, compiled_run, compiled=True) == []
    assert compiled_run.observed == {"jit": 1}


def test_the_first_divergence_that_explains_a_difference_is_the_one_observed() -> None:
    mismatches = [Mismatch("A.sum()", "value", "6.0", "7.0")]
    run = CellRun()
    engine._judge(mismatches, [entry("first"), entry("second")], {}, run)
    assert run.observed == {"first": 1}
    assert run.conformed == {"second": 1}


# -- the reference's outputs ------------------------------------------------------------
@REJECT_OUTSIDE_GIVEN
def test_an_example_whose_answer_the_semantics_do_not_fix_is_rejected() -> None:
    policy = NumpyAdapter().policy
    zero_by_zero = case("(A + A + A - B) / (A + A + A - B)\nA.numel()")
    assert engine.reference_outputs(zero_by_zero, policy, NEAR_ZERO, 0) is None
    exact = {"A": np.array([1.0]), "B": np.array([2.0])}
    assert engine.reference_outputs(zero_by_zero, policy, exact, 0) is not None
    run = CellRun()
    with pytest.raises(UnsatisfiedAssumption):
        run_case(zero_by_zero, NumpyAdapter(), NEAR_ZERO, run=run)
    assert run.examples == 0


@REJECT_OUTSIDE_GIVEN
def test_an_example_whose_every_output_is_unbounded_is_rejected() -> None:
    policy = NumpyAdapter().policy
    unbounded = case("B / (A + A + A - B)")
    assert engine.reference_outputs(unbounded, policy, NEAR_ZERO, 0) is None
    with pytest.raises(UnsatisfiedAssumption):
        run_case(unbounded, NumpyAdapter(), NEAR_ZERO)
    # one output that is checked is enough
    assert engine.reference_outputs(case("B / (A + A + A - B)\nA.numel()"), policy,
                                    NEAR_ZERO, 0) is not None


def test_a_precomputed_reference_is_used_and_left_unchanged() -> None:
    c = case("A.sum()\nA.sum() == 6")
    ref = engine.reference_outputs(c, NumpyAdapter().policy, X, 0)
    assert ref is not None
    shared = dict(ref)
    run = CellRun()
    engine.run_case_example(spec_of(c), c, ReferenceAdapter(), dict(X), 0, [], run, shared)
    assert shared == ref
    assert "reference" not in run.seconds  # not run again
    run_case(c, NumpyAdapter(), run=run)
    assert run.seconds["reference"] > 0


# -- compiled runs (stage) ----------------------------------------------------------------
def test_a_compiled_run_that_agrees_stands_and_is_counted_as_staged() -> None:
    adapter = Staged()
    run = run_case(case("A.sum()\nA.cumsum(0)"), adapter)
    assert (run.examples, run.checked, run.staged) == (1, 1, 1)
    assert adapter.stage_calls == 1
    run_case(case("A.sum()\nA.cumsum(0)"), adapter, run=run)
    assert run.staged == 2
    assert adapter.stage_calls == 1  # the same program and inputs: compiled once per cell


def test_a_compiled_run_records_its_compile_and_backend_time_within_the_wall_time() -> None:
    adapter, run = Staged(), CellRun()
    start = time.perf_counter()
    run_case(case("A.sum()"), adapter, run=run)
    wall = time.perf_counter() - start
    assert 0 < run.seconds["compile"] <= wall
    assert 0 <= run.seconds["backend"] <= wall
    again = CellRun()
    run_case(case("A.sum()"), adapter, run=again)  # the same input signature: no compiling
    assert again.seconds["compile"] == 0
    assert 0 < again.seconds["backend"] <= wall + 1


def test_a_difference_only_the_compiled_run_shows_fails_as_compilings_own() -> None:
    with pytest.raises(ConformanceFailure) as failure:
        run_case(case("A.sum()"), StagedSumPlusOneWhenCompiled())
    assert str(failure.value).startswith(
        "numpy-staged-sum-plus-one-compiled disagrees: tests/engine / c, only when the whole "
        "program is compiled (numpy-staged-sum-plus-one-compiled's stage(); operation by "
        "operation it agrees)")
    (output,) = failure.value.details["outputs"]
    assert output["backend"]["value"].startswith("7. ")  # what the compiled program returned


def test_a_difference_both_runs_show_fails_as_the_eager_runs() -> None:
    run = CellRun()
    with pytest.raises(ConformanceFailure) as failure:
        run_case(case("A.sum()"), StagedSumPlusOne(), run=run)
    assert str(failure.value).splitlines()[0] == (
        "numpy-staged-sum-plus-one disagrees: tests/engine / c")
    assert run.staged == 0


def test_a_compiled_only_divergence_lets_the_compiled_run_stand() -> None:
    run = run_case(case("A.sum()"), StagedSumPlusOneWhenCompiled(),
                   entries=[entry("jit-sum", outputs=("A.sum()",), compiled=True)])
    assert run.staged == 1
    assert run.observed == {"jit-sum": 1}


def test_a_divergence_not_limited_to_compiled_runs_explains_a_compiled_run_too() -> None:
    run = run_case(case("A.sum()"), StagedSumPlusOne(), entries=[entry("sum")])
    assert run.staged == 1
    assert run.observed == {"sum": 1}


def test_a_compiled_case_keeps_its_compiled_run_even_when_it_differs() -> None:
    run = CellRun()
    with pytest.raises(ConformanceFailure) as failure:
        run_case(case("A.sum()", compiled=True), StagedSumPlusOneWhenCompiled(), run=run)
    assert "only when the whole program is compiled" not in str(failure.value)
    assert failure.value.details["outputs"][0]["backend"]["value"].startswith("7. ")
    assert run.staged == 1


def test_a_compiled_case_whose_raises_line_follows_earlier_outputs_passes() -> None:
    """The compiled run raises at the raises: line and returns only that error (it never
    returns what it computed before); the earlier outputs are not the backend's failure."""
    c = case("A.sum()\nA.cumsum(0)\nA.reshape(A.numel() + 1)", raises=("A.reshape(A.numel() + 1)",),
             compiled=True)
    run = run_case(c, Staged())
    assert (run.examples, run.checked, run.staged) == (1, 1, 1)


def test_with_eager_only_a_compiling_backend_runs_operation_by_operation() -> None:
    adapter, run = Staged(), CellRun()
    with eager_only():
        run_case(case("A.sum()"), adapter, run=run)
    assert run.staged == 0 and adapter.stage_calls == 0
    assert run.seconds["compile"] == 0


def test_a_compiled_case_is_not_applicable_with_eager_only() -> None:
    with eager_only(), pytest.raises(NotApplicable, match=(
            r"^--eager was given: cases that check compiled programs do not run$")):
        run_case(case("A.sum()", compiled=True), Staged())


def test_a_compiled_case_is_not_applicable_on_a_backend_without_stage() -> None:
    with pytest.raises(NotApplicable, match=(
            r"^numpy declares capability 'compile' but has no stage\(\) method$")):
        run_case(case("A.sum()", compiled=True), NumpyAdapter())


def test_a_program_the_stager_leaves_to_the_eager_run_is_decided_eagerly() -> None:
    run = run_case(case("A * k"), Staged(), {"A": np.array([1.0]), "k": 0.5})  # a float input
    assert (run.examples, run.checked, run.staged) == (1, 1, 0)


def test_after_a_cell_its_compiled_programs_are_dropped_and_the_backends_hook_runs() -> None:
    adapter = Staged()
    run_case(case("A.sum()"), adapter)
    assert adapter in engine._STAGERS
    stager = engine._STAGERS[adapter]
    engine.after_cell(adapter)
    assert adapter not in engine._STAGERS
    assert stager.compiled == {}
    assert adapter.cleared == 1
    engine.after_cell(adapter)  # nothing compiled: only the hook
    assert adapter.cleared == 2
    engine.after_cell(NumpyAdapter())  # no hook, nothing compiled: nothing to do


def with_counted_context(base: type) -> Any:
    """``base`` whose ``context()`` counts how often the engine enters it."""

    class Counted(base):
        name = f"{base.__name__.lower()}-with-context"
        entered = 0

        @contextmanager
        def context(self) -> Iterator[None]:
            type(self).entered += 1
            yield

    return Counted


def test_the_backends_context_is_entered_around_its_runs() -> None:
    backend = with_counted_context(NumpyAdapter)
    run_case(case("A.sum()"), backend())
    assert backend.entered == 1


def test_inputs_reach_the_backend_as_its_tensors_and_other_values_as_they_are() -> None:
    class Tagged(NumpyAdapter):
        def from_host(self, array: np.ndarray) -> Any:
            return ("tensor", super().from_host(array))

    inputs = engine._inputs(Tagged(), {"A": np.array([1.0]), "axis": 0, "dtype": "float32"})
    assert inputs["A"][0] == "tensor"
    assert inputs["axis"] == 0 and inputs["dtype"] == "float32"


# -- failure reports -----------------------------------------------------------------------
@pytest.mark.parametrize(("value", "shown"), [
    (np.array([True, False]), "tensor([True, False], dtype=bool)"),
    (np.array([1, 2], dtype=np.int32), "tensor([1, 2], dtype=int32)"),
    (np.zeros((2, 0)), "tensor([[], []], dtype=float64, shape=(2, 0))"),
    (np.zeros(0, dtype=np.float32), "tensor([], dtype=float32)"),
    (np.array(1.5), "tensor(1.5, dtype=float64)"),
    (3, "3"),
    ("float32", "'float32'"),
], ids=["bool", "int32", "empty-matrix", "empty-vector", "0-d", "int", "dtype-name"])
def test_a_drawn_value_is_shown_as_a_tensor_literal_with_its_dtype(value: Any, shown: str) -> None:
    assert engine._show(value) == shown


def test_a_report_names_a_relation_by_its_left_side_and_a_missing_side_by_its_text() -> None:
    ref = {"A.sum()": observed(6.0)}
    got = {"A.sum()": observed(7.0)}
    mismatches = [Mismatch("A.sum()  ==  A.cumsum(0)[2]", "relation", "equal", "7.0 vs 6.0",
                           "differs by 1", "1e-15"),
                  Mismatch("A.mean()", "error", "a value", "not reached")]
    failure = engine._fail("s / c", NumpyAdapter(), mismatches, {}, ref, got, "A.sum()\n")
    first, second = failure.details["outputs"]
    assert first["reference"] == ref["A.sum()"].to_json()
    assert first["backend"] == got["A.sum()"].to_json()
    assert (first["difference"], first["tolerance"]) == ("differs by 1", "1e-15")
    assert second["reference"] == {"value": "a value", "dtype": None, "shape": None, "error": None}
    assert second["backend"] == {"value": "not reached", "dtype": None, "shape": None,
                                 "error": None}
    assert failure.details["example"] == {}
    assert "minimal example" not in str(failure)
    assert failure.details["message"] == (
        "numpy disagrees: s / c\n  " + mismatches[0].describe() + "\n  " + mismatches[1].describe())


# -- gradient oracles ------------------------------------------------------------------------
GRADIENT = "A.requires_grad_(True)\nB = (A * A).sum()\nB.backward()\nA.grad"


def test_the_gradient_oracles_check_a_case_that_takes_a_gradient() -> None:
    run = run_case(case(GRADIENT), ReferenceAdapter())
    assert run.oracles and all(n == 1 for n in run.oracles.values())
    assert run.along  # each oracle's gradient along v, shown in a failure
    assert run.checked == 1


def test_forward_mode_checks_a_backends_gradients_on_its_own_input_tensors() -> None:
    torch_backend = pytest.importorskip("tensor_conformance.adapters.torch_backend")
    run = run_case(case(GRADIENT), torch_backend.TorchAdapter())
    assert run.oracles == {"finite_differences": 1, "forward_mode": 1}


def test_a_case_without_gradients_calls_no_oracle() -> None:
    run = run_case(case("A.sum()"), ReferenceAdapter())
    assert run.oracles == {} and run.along == {}


def test_a_compiled_case_calls_no_gradient_oracle() -> None:
    class StagedReference(ReferenceAdapter):
        name = "reference-staged"

        def stage(self, fn: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
            return fn

    run = run_case(case(GRADIENT, compiled=True), StagedReference())
    assert run.staged == 1
    assert run.oracles == {}


# -- the notes' literal examples ---------------------------------------------------------------
BROKEN_LINE = """
title: a literal example with a line that prints nothing
claims: [T20]
examples:
  - id: notes
    doctest: |
      >>> A = torch.arange(6, dtype=torch.float32).reshape(3, 2)
      >>> B = A.cumsum(axis=0)
      >>> B.shape
      torch.Size([3, 2])
"""


def notes_example(specs_dir: Path, text: str) -> Spec:
    (specs_dir / "tensors").mkdir(exist_ok=True)
    (specs_dir / "tensors" / "cumsum.yaml").write_text(text, encoding="utf-8")
    return load_all(specs_dir)[0][0]


class CumsumPlusOne(NumpyAdapter):
    name = "numpy-cumsum-plus-one"

    def cumsum(self, x: Any, axis: int) -> Any:
        return super().cumsum(x, axis) + 1


@pytest.mark.parametrize("adapter", [NumpyAdapter(), ReferenceAdapter()], ids=["numpy", "reference"])
def test_a_literal_example_the_backend_prints_as_the_notes_do_passes(specs_dir: Path,
                                                                    adapter: Any) -> None:
    spec = notes_example(specs_dir, CUMSUM)
    run = CellRun()
    engine.run_example(spec, spec.examples[0], adapter, [], run)
    assert (run.examples, run.checked) == (1, 1)


def test_a_literal_example_printed_differently_fails_against_the_notes_text(specs_dir: Path) -> None:
    spec = notes_example(specs_dir, CUMSUM)
    run = CellRun()
    with pytest.raises(ConformanceFailure) as failure:
        engine.run_example(spec, spec.examples[0], CumsumPlusOne(), [], run)
    assert str(failure.value).startswith(
        "numpy-cumsum-plus-one disagrees: tensors/cumsum / notes (the notes' example)")
    (output,) = failure.value.details["outputs"]
    assert output["name"] == "A.cumsum(axis=0)"
    assert output["reference"]["value"] == spec.examples[0].steps[-1].text  # shown unquoted
    assert "A.cumsum(axis=0)" in failure.value.details["reproducer"]
    assert failure.value.details["example"] == {}
    assert run.examples == 1


def test_a_literal_example_difference_registered_as_a_divergence_passes(specs_dir: Path) -> None:
    spec = notes_example(specs_dir, CUMSUM)
    run = CellRun()
    engine.run_example(spec, spec.examples[0], CumsumPlusOne(), [entry("notes-cumsum")], run)
    assert run.observed == {"notes-cumsum": 1}


def test_a_literal_line_that_prints_nothing_must_not_raise(specs_dir: Path) -> None:
    spec = notes_example(specs_dir, BROKEN_LINE)
    run = CellRun()
    with pytest.raises(ConformanceFailure) as failure:
        engine.run_example(spec, spec.examples[0], CumsumRaises(), [], run)
    (output,) = failure.value.details["outputs"]  # B.shape is never reached
    assert output["name"] == "B = A.cumsum(axis=0)"
    assert output["problem"] == "error"
    assert output["reference"]["value"] == "no error (the notes run this line)"
    assert output["backend"]["value"] == "RuntimeError: cumsum is broken here"
    assert (run.examples, run.checked) == (1, 0)


def test_a_literal_line_that_raises_instead_of_printing_fails_and_checks_nothing(
        specs_dir: Path) -> None:
    spec = notes_example(specs_dir, CUMSUM)
    run = CellRun()
    with pytest.raises(ConformanceFailure) as failure:
        engine.run_example(spec, spec.examples[0], CumsumRaises(), [], run)
    (output,) = failure.value.details["outputs"]
    assert output["name"] == "A.cumsum(axis=0)"
    assert output["backend"]["error"] == "RuntimeError: cumsum is broken here"
    assert (run.examples, run.checked) == (1, 0)


# -- more rules, each found by a surviving mutant ---------------------------------------------
def test_each_phase_of_a_cell_accumulates_its_time_over_examples() -> None:
    run = CellRun()
    start = time.perf_counter()
    run_case(case("A.sum()"), NumpyAdapter(), run=run)
    first = dict(run.seconds)
    run_case(case("A.sum()"), NumpyAdapter(), run=run)
    wall = time.perf_counter() - start
    assert set(first) == {"reference", "backend", "compare", "gradient_oracles"}
    assert (run.examples, run.checked) == (2, 2)
    for phase, seconds in run.seconds.items():
        assert first[phase] < seconds <= wall, phase


class SlowCompile(Staged):
    """Compiling (the first run of an input signature) takes 50 ms."""

    name = "numpy-staged-slow-compile"

    def stage(self, fn: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
        seen: set[Any] = set()

        def compiled(seed: Any, *arrays: Any) -> list[Any]:
            signature = tuple((a.shape, str(a.dtype)) for a in arrays)
            if signature not in seen:
                seen.add(signature)
                time.sleep(0.05)
            return fn(seed, *arrays)
        return super().stage(compiled)


def test_compile_time_is_not_counted_as_backend_time() -> None:
    run = CellRun()
    start = time.perf_counter()
    run_case(case("A.sum()"), SlowCompile(), run=run)
    wall = time.perf_counter() - start
    assert run.seconds["compile"] >= 0.05
    assert run.seconds["compile"] + run.seconds["backend"] <= wall


def test_a_compiled_runs_time_accumulates_over_examples() -> None:
    adapter, run = Staged(), CellRun()
    run_case(case("A.sum()"), adapter, run=run)
    first = dict(run.seconds)
    run_case(case("A.sum()"), adapter, {"A": np.array([1.0, 2.0])}, run=run)  # compiles anew
    assert run.seconds["compile"] > first["compile"]
    assert run.seconds["backend"] > first["backend"]


def test_a_divergence_is_counted_once_per_example() -> None:
    run = CellRun()
    for _ in range(2):
        run_case(case("A.sum()\nA.cumsum(0)"), SumPlusOne(), run=run,
                 entries=[entry("sum", outputs=("A.sum()",)),
                          entry("cumsum", outputs=("A.cumsum(0)",))])
    assert run.observed == {"sum": 2}
    assert run.conformed == {"cumsum": 2}


def test_the_reference_is_never_judged_as_a_compiled_run() -> None:
    run = run_case(case("A.sum()"), ReferenceAdapter(), entries=[entry("jit", compiled=True)])
    assert run.observed == {} and run.conformed == {}


def test_a_holds_line_the_reference_cannot_decide_at_this_precision_is_not_failed() -> None:
    # 6 is within the float sum's rounding error: the reference is unsure of A.sum() == 6
    c = case("A.numel()", holds=("A.sum() == 6",))
    ref = engine.reference_outputs(c, NumpyAdapter().policy, X, 0)
    assert ref is not None and ref["A.sum() == 6"].unsure is not None
    assert run_case(c, SumPlusOne()).examples == 1
    with pytest.raises(ConformanceFailure):  # exact integers: the same fault fails
        run_case(c, SumPlusOne(), INTS)


def test_an_agree_pair_is_compared_within_the_bounds_of_both_sides() -> None:
    # (0.1 + 0.2) + 0.3 and 0.1 + (0.2 + 0.3) differ by one rounding in float64
    c = case("(A + B) + C", agree=(("(A + B) + C", "A + (B + C)"),))
    v = {"A": np.array(0.1), "B": np.array(0.2), "C": np.array(0.3)}
    assert run_case(c, NumpyAdapter(), v).examples == 1
    got = engine._run(NumpyAdapter(), c.program, v, 0)
    assert engine._relations(c, {}, got) != []  # with no bounds they would differ


def test_a_difference_explained_for_one_output_only_does_not_let_a_compiled_run_stand() -> None:
    jit_sum = entry("jit-sum", outputs=("A.sum()",), compiled=True)
    with pytest.raises(ConformanceFailure, match="only when the whole program is compiled"):
        run_case(case("A.sum()\nA.sum() * 2"), StagedSumPlusOneWhenCompiled(), entries=[jit_sum])


def test_a_compiled_difference_is_explained_by_any_one_of_the_selected_divergences() -> None:
    run = run_case(case("A.sum()"), StagedSumPlusOneWhenCompiled(),
                   entries=[entry("other", outputs=("A.cumsum(0)",), compiled=True),
                            entry("jit-sum", outputs=("A.sum()",), compiled=True)])
    assert run.staged == 1
    assert run.observed == {"jit-sum": 1} and run.conformed == {"other": 1}


class StagedCumsumRaisesWhenCompiled(StagedSumPlusOneWhenCompiled):
    """Right operation by operation; its ``cumsum`` raises only inside a compiled run."""

    name = "numpy-staged-cumsum-raises-compiled"

    def sum(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        return NumpyAdapter.sum(self, x, *args, **kwargs)

    def cumsum(self, x: Any, axis: int) -> Any:
        if self.tracing:
            raise RuntimeError("cannot trace cumsum")
        return super().cumsum(x, axis)


def test_a_compiled_case_reports_the_error_its_compiled_run_raised() -> None:
    with pytest.raises(ConformanceFailure) as failure:
        run_case(case("A.sum()\nA.cumsum(0)", compiled=True), StagedCumsumRaisesWhenCompiled())
    (output,) = failure.value.details["outputs"]
    assert output["name"] == "A.cumsum(0)"
    assert output["backend"]["error"] == "RuntimeError: cannot trace cumsum"
    # not compiled: the program that raised while tracing runs operation by operation
    assert run_case(case("A.sum()\nA.cumsum(0)"), StagedCumsumRaisesWhenCompiled()).staged == 0


@REJECT_OUTSIDE_GIVEN
def test_an_example_the_backend_finds_indeterminate_is_rejected() -> None:
    from tensor_conformance.adapters.reference.tensor import Indeterminate

    class CumsumIndeterminate(NumpyAdapter):
        name = "numpy-cumsum-indeterminate"

        def cumsum(self, x: Any, axis: int) -> Any:
            raise Indeterminate("not fixed at this precision")

    run = CellRun()
    with pytest.raises(UnsatisfiedAssumption):
        run_case(case("A.cumsum(0)"), CumsumIndeterminate(), run=run)
    assert run.examples == 0


def test_a_report_shows_each_drawn_value_and_names_an_element_by_its_output() -> None:
    ref = {"A.cumsum(0)": observed(1.0)}
    got = {"A.cumsum(0)": observed(2.0)}
    mismatches = [Mismatch("A.cumsum(0)[1]", "value", "3.0", "4.0")]
    failure = engine._fail("s / c", NumpyAdapter(), mismatches,
                           {"A": np.array([1.0, 2.0]), "axis": 0}, ref, got, "A.cumsum(0)\n")
    (output,) = failure.details["outputs"]
    assert output["name"] == "A.cumsum(0)[1]"
    assert output["reference"] == ref["A.cumsum(0)"].to_json()
    assert output["backend"] == got["A.cumsum(0)"].to_json()
    assert failure.details["example"] == {"A": "tensor([1.0, 2.0], dtype=float64)", "axis": "0"}
    assert "\nminimal example: A = tensor([1.0, 2.0], dtype=float64), axis = 0\n" in str(failure)


RAISES_THEN_PRINTS = """
title: a literal example whose printed line raises before another printed line
claims: [T20]
examples:
  - id: notes
    doctest: |
      >>> A = torch.arange(6, dtype=torch.float32).reshape(3, 2)
      >>> A.cumsum(axis=0)
      tensor([[0., 1.],
              [2., 4.],
              [6., 9.]])
      >>> A.shape
      torch.Size([3, 2])
"""


def test_a_literal_example_stops_at_the_first_printed_line_that_raises(specs_dir: Path) -> None:
    spec = notes_example(specs_dir, RAISES_THEN_PRINTS)
    run = CellRun()
    with pytest.raises(ConformanceFailure) as failure:
        engine.run_example(spec, spec.examples[0], CumsumRaises(), [], run)
    assert [o["name"] for o in failure.value.details["outputs"]] == ["A.cumsum(axis=0)"]
    assert (run.examples, run.checked) == (1, 0)  # A.shape never ran


def test_a_literal_examples_reproducer_runs_its_lines_in_order(specs_dir: Path) -> None:
    spec = notes_example(specs_dir, RAISES_THEN_PRINTS)
    with pytest.raises(ConformanceFailure) as failure:
        engine.run_example(spec, spec.examples[0], CumsumPlusOne(), [], CellRun())
    lines = [line.strip() for line in failure.value.details["reproducer"].splitlines()]
    first = next(i for i, line in enumerate(lines) if line.startswith("A = "))
    assert lines[first + 1:first + 3] == ["print(A.cumsum(axis=0))", "print(A.shape)"]


def test_a_compiled_run_after_a_reference_that_raised_earlier_fails_as_not_reached() -> None:
    """The reference raised at A.reshape(7); the compiled run went past it (it raised
    later, at A.cumsum(0)): the backend did not raise where the reference did."""
    program = Program.parse("A.reshape(7)\nA.sum()\nA.cumsum(0)")
    ref = {"A.reshape(7)": error()}
    got = {"A.cumsum(0)": error("RuntimeError: cannot trace cumsum")}
    assert engine._differential(program, ref, got) == [
        Mismatch("A.cumsum(0)", "error", "a value", "not reached: the reference raised earlier")]


class RecordingSeeds(ReferenceAdapter):
    """The reference's arithmetic judged as a backend, recording each seed it draws with."""

    name = "reference-recording-seeds"

    def __init__(self) -> None:
        super().__init__()
        self.seeds: list[Any] = []

    def randn(self, shape: tuple[int, ...], seed: int) -> Any:
        self.seeds.append(seed)
        return super().randn(shape, seed)


class StagedRecordingSeeds(RecordingSeeds):
    name = "reference-recording-seeds-staged"

    def stage(self, fn: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
        return fn


@pytest.mark.parametrize("adapter_type", [RecordingSeeds, StagedRecordingSeeds])
def test_the_examples_seed_reaches_the_reference_and_the_backend(adapter_type: Any) -> None:
    adapter = adapter_type()
    c = case("torch.randn(3)")
    run = run_case(c, adapter, {}, seed=7)  # the same draws on both sides: no difference
    assert adapter.seeds == [7]
    assert run.staged == (1 if adapter_type is StagedRecordingSeeds else 0)
    ref = engine.reference_outputs(c, adapter.policy, {}, 7)
    assert ref is not None
    drawn = ReferenceAdapter().randn((3,), 7)
    assert ref["torch.randn(3)"].value.tolist() == drawn.nested()


def test_a_compiled_only_divergence_does_not_explain_an_eager_runs_difference() -> None:
    with pytest.raises(ConformanceFailure):
        run_case(case("A.sum()"), SumPlusOne(), entries=[entry("jit", compiled=True)])


def test_a_compiled_only_divergence_selects_by_the_drawn_values() -> None:
    jit_sum = entry("jit-sum", compiled=True, when={"dtype": ("float64",)})
    run = run_case(case("A.sum()"), StagedSumPlusOneWhenCompiled(), {**X, "dtype": "float64"},
                   entries=[jit_sum])
    assert run.staged == 1 and run.observed == {"jit-sum": 1}
    with pytest.raises(ConformanceFailure, match="only when the whole program is compiled"):
        run_case(case("A.sum()"), StagedSumPlusOneWhenCompiled(), {**X, "dtype": "float32"},
                 entries=[jit_sum])


def test_holds_and_raises_mismatches_are_kept_when_an_agree_pair_is_checked() -> None:
    c = case("A.sum()\nA.sum() * 2", holds=("A.sum() == 7",), agree=(("A.sum()", "A.sum() * 2"),))
    got = engine._run(NumpyAdapter(), c.program, INTS, 0)
    mismatches = engine._relations(c, {}, got)
    assert [m.problem for m in mismatches] == ["relation", "relation"]
    assert [m.output for m in mismatches] == ["A.sum() == 7", "A.sum()  ==  A.sum() * 2"]


def test_an_agree_pair_is_allowed_the_sum_of_both_sides_bounds() -> None:
    c = case("(A + B) + C", agree=(("(A + B) + C", "A + (B + C)"),))
    v = {"A": np.array(0.1), "B": np.array(0.2), "C": np.array(0.3)}
    ref = engine.reference_outputs(c, NumpyAdapter().policy, v, 0)
    assert ref is not None
    left, right = (float(ref[k].bounds) for k in ("(A + B) + C", "A + (B + C)"))
    apart = max(left, right) * 1.5  # more than either bound, less than both together
    assert apart < left + right

    def tensor(value: float) -> Observed:
        return Observed("tensor", np.array(value), "float64", ())

    got = {"(A + B) + C": tensor(0.6), "A + (B + C)": tensor(0.6 + apart)}
    assert engine._relations(c, ref, got) == []


def test_the_backends_context_is_entered_around_its_compiled_runs() -> None:
    backend = with_counted_context(Staged)
    run = run_case(case("A.sum()"), backend())
    assert run.staged == 1
    assert backend.entered == 1


def test_the_backends_context_is_entered_around_its_gradient_oracles() -> None:
    backend = with_counted_context(ReferenceAdapter)
    run = run_case(case(GRADIENT), backend())
    assert run.oracles
    assert backend.entered == 2  # the backend's run, then the oracles


DEFAULT_DTYPES = """
title: values printed with the notes' default dtypes
claims: [T20]
examples:
  - id: notes
    doctest: |
      >>> torch.ones(2, dtype=torch.int32)
      tensor([1, 1])
      >>> torch.ones(2)
      tensor([1., 1.])
      >>> (torch.ones(1), torch.zeros(1))
      (tensor([1.]), tensor([0.]))
"""


@pytest.mark.parametrize("adapter", [NumpyAdapter(), ReferenceAdapter(NumpyAdapter().policy)],
                         ids=["numpy", "reference-under-numpy-policy"])
def test_a_backends_printed_dtypes_are_the_references_under_its_policy(specs_dir: Path,
                                                                      adapter: Any) -> None:
    spec = notes_example(specs_dir, DEFAULT_DTYPES)
    run = CellRun()
    engine.run_example(spec, spec.examples[0], adapter, [], run)
    assert run.examples == 1


def test_the_reference_is_held_to_the_dtypes_pytorch_prints(specs_dir: Path) -> None:
    # tensor([1, 1]) is int64 as PyTorch prints it; the reference's int32 ones differ
    spec = notes_example(specs_dir, DEFAULT_DTYPES)
    with pytest.raises(ConformanceFailure) as failure:
        engine.run_example(spec, spec.examples[0], ReferenceAdapter(), [], CellRun())
    assert [(o["name"], o["problem"]) for o in failure.value.details["outputs"]] == [
        ("torch.ones(2, dtype=torch.int32)", "dtype")]


def test_exact_dtypes_hold_every_backend_to_the_dtypes_pytorch_prints(specs_dir: Path) -> None:
    exact = DEFAULT_DTYPES.replace("    doctest:", "    exact_dtypes: true\n    doctest:")
    spec = notes_example(specs_dir, exact)
    assert spec.examples[0].exact_dtypes
    with pytest.raises(ConformanceFailure) as failure:
        engine.run_example(spec, spec.examples[0], NumpyAdapter(), [], CellRun())
    assert ("torch.ones(2)", "dtype") in [(o["name"], o["problem"])
                                          for o in failure.value.details["outputs"]]


def test_literal_examples_accumulate_in_the_cells_counts(specs_dir: Path) -> None:
    spec = notes_example(specs_dir, CUMSUM)
    run = CellRun()
    for _ in range(2):
        engine.run_example(spec, spec.examples[0], NumpyAdapter(), [], run)
    assert (run.examples, run.checked) == (2, 2)


def test_a_divergence_with_a_when_never_selects_a_literal_example(specs_dir: Path) -> None:
    spec = notes_example(specs_dir, CUMSUM)
    run = CellRun()
    with pytest.raises(ConformanceFailure):
        engine.run_example(spec, spec.examples[0], CumsumPlusOne(),
                           [entry("f32", when={"dtype": ("float32",)})], run)
    assert run.observed == {} and run.conformed == {}


def test_the_backends_context_is_entered_around_a_literal_example(specs_dir: Path) -> None:
    class WithContext(NumpyAdapter):
        name = "numpy-with-context"
        entered = 0

        @contextmanager
        def context(self) -> Iterator[None]:
            type(self).entered += 1
            yield

    spec = notes_example(specs_dir, CUMSUM)
    engine.run_example(spec, spec.examples[0], WithContext(), [], CellRun())
    assert WithContext.entered == 1


TWO_STATEMENTS = """
title: a literal line of two statements, the first of which raises
claims: [T20]
examples:
  - id: notes
    doctest: |
      >>> A = torch.arange(6, dtype=torch.float32).reshape(3, 2)
      >>> B = A.cumsum(axis=0); B
      tensor([[0., 1.],
              [2., 4.],
              [6., 9.]])
"""


def test_a_printed_line_whose_earlier_statement_raises_reports_that_error(specs_dir: Path) -> None:
    spec = notes_example(specs_dir, TWO_STATEMENTS)
    run = CellRun()
    with pytest.raises(ConformanceFailure) as failure:
        engine.run_example(spec, spec.examples[0], CumsumRaises(), [], run)
    (output,) = failure.value.details["outputs"]
    assert (output["name"], output["problem"]) == ("B", "error")
    assert output["backend"]["error"] == "RuntimeError: cumsum is broken here"
    assert (run.examples, run.checked) == (1, 0)  # B was never computed: nothing checked
