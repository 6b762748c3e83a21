"""Running one spec item (a literal example or one generated example) on one backend.

For a generated case the reference runs first, under the backend's declared dtype
policy: its outputs (with error bounds) are what the backend must match.  Then
the backend runs the same program on the same inputs, each output is compared,
and the claim's own relations (``holds``/``agree``) are checked on the backend.
Every mismatch is either explained by a registered divergence or raises
``ConformanceFailure`` with everything a report needs: the example, both sides'
outputs, the bound that was applied and a reproducer.
"""

from __future__ import annotations

import contextlib
import time
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import reject

from tensor_conformance import compare, gradients
from tensor_conformance.adapters.protocol import DOCUMENTED_POLICY, Adapter, DtypePolicy, NotApplicable
from tensor_conformance.adapters.reference.adapter import ReferenceAdapter
from tensor_conformance.adapters.reference.tensor import Indeterminate
from tensor_conformance.divergences import Divergence
from tensor_conformance.observed import Observed, observe
from tensor_conformance.program import Interpreter, Program
from tensor_conformance.reproducer import reproducer
from tensor_conformance.spec import Case, Example, Spec
from tensor_conformance.staging import Stager


class ConformanceFailure(AssertionError):
    """An unexplained disagreement; ``details`` is the results.json ``failure`` record."""

    def __init__(self, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.details = details


@dataclass
class CellRun:
    """What happened in one (item, backend) cell across all its examples."""

    examples: int = 0
    #: examples that compared a value (an output or a holds/agree relation that returned
    #: a value on at least one side, a gradient oracle, or an output the case says must
    #: raise); an example in which both sides only raised checked nothing
    checked: int = 0
    #: examples whose program ran compiled as a whole (``stage``), not op by op
    staged: int = 0
    #: examples whose gradients each independent oracle checked (gradients.py)
    oracles: Counter[str] = field(default_factory=Counter)
    #: the last example's gradient along v by each oracle (gradients.py), for failures
    along: dict[str, float | None] = field(default_factory=dict)
    observed: Counter[str] = field(default_factory=Counter)
    conformed: Counter[str] = field(default_factory=Counter)
    #: examples replayed from the case's shared corpus (corpus.py), not drawn by the cell
    replayed: int = 0
    #: the cell's hypothesis test draws its own examples (no corpus, or a corpus example
    #: failed and hypothesis searches and shrinks for this backend)
    searching: bool = False
    #: what the first failing corpus example raised (shown if the search misses it)
    corpus_failure: BaseException | None = None
    #: seconds the cell spent drawing its case's corpus (0: drawn by an earlier cell)
    corpus_draw_s: float = 0.0
    #: where the cell's time went (results.json ``seconds``; benchmark/suite_speed.py):
    #: "reference" (the oracle, where the cell ran it), "backend" (the library running
    #: the program, compiling excluded), "compile" (a compiling backend's first run of
    #: each new input signature: tracing, compiling and that run), "compare" (outputs
    #: and relations against the reference), "gradient_oracles" (finite differences and
    #: forward mode); the rest of a cell's duration is hypothesis and pytest
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))


#: set by ``--eager``: run every program operation by operation
EAGER_ONLY = False
#: why a case that checks compiled programs is not applicable under ``--eager``
EAGER_REASON = "--eager was given: cases that check compiled programs do not run"


def missing_capability(needs: frozenset[str], adapter: Adapter) -> str | None:
    """Why a cell that needs ``needs`` cannot run on ``adapter`` (None: it can); a case
    that checks compiled programs cannot run under ``--eager`` (``EAGER_ONLY``)."""
    if "compile" in needs and EAGER_ONLY:
        return f"needs compile: {EAGER_REASON}"
    for cap in sorted(needs - adapter.capabilities):
        reason = adapter.missing.get(cap, f"{adapter.name} does not declare capability {cap!r}")
        return f"needs {cap}: {reason}"
    return None


def _context(adapter: Adapter) -> contextlib.AbstractContextManager[Any]:
    enter = getattr(adapter, "context", None)
    return enter() if enter is not None else contextlib.nullcontext()


def _is_oracle(adapter: Adapter) -> bool:
    return type(adapter) is ReferenceAdapter


def _inputs(adapter: Adapter, variables: dict[str, Any]) -> dict[str, Any]:
    return {k: adapter.from_host(v) if isinstance(v, np.ndarray) else v
            for k, v in variables.items()}


def _run(adapter: Adapter, program: Program, variables: dict[str, Any],
         seed: int) -> dict[str, Observed]:
    with _context(adapter):
        return Interpreter(adapter, _inputs(adapter, variables), seed).run(
            program, lambda value: observe(adapter, value))


#: each adapter's compiled whole programs (see staging.py); dropped after each cell
_STAGERS: weakref.WeakKeyDictionary[Any, Stager] = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def _timed(run: CellRun, phase: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        run.seconds[phase] += time.perf_counter() - start


def _run_compiled(adapter: Adapter, program: Program, variables: dict[str, Any], seed: int,
                  run: CellRun, strict: bool = False) -> dict[str, Observed] | None:
    """The program compiled as a whole on a backend that offers ``stage`` (JAX); None
    where it must run eagerly.  ``strict`` (a ``compiled: true`` case): compiled
    whatever happens, not applicable where it cannot be."""
    if EAGER_ONLY or getattr(adapter, "stage", None) is None:
        if strict:
            raise NotApplicable(EAGER_REASON if EAGER_ONLY else f"{adapter.name} declares "
                                "capability 'compile' but has no stage() method")
        return None
    stager = _STAGERS.setdefault(adapter, Stager(adapter))
    start, compiling = time.perf_counter(), stager.compile_s
    try:
        with _context(adapter):
            outputs = stager.run(program, _inputs(adapter, variables), seed, strict)
            if outputs is None:
                return None
            return {text: observe(adapter, value) for text, value in outputs.items()}
    finally:
        compiled = stager.compile_s - compiling
        run.seconds["compile"] += compiled
        run.seconds["backend"] += time.perf_counter() - start - compiled


def after_cell(adapter: Adapter) -> None:
    """Free what one cell compiled (the adapter's own ``after_cell`` runs too)."""
    stager = _STAGERS.pop(adapter, None)
    if stager is not None:
        stager.clear()
    hook = getattr(adapter, "after_cell", None)
    if hook is not None:
        hook()


def _differential(program: Program, ref: dict[str, Observed],
                  got: dict[str, Observed]) -> list[compare.Mismatch]:
    out: list[compare.Mismatch] = []
    for name, obs in got.items():  # a statement that is not an output raised: show its error
        if obs.kind == "error" and name not in program.outputs and name not in ref:
            out.append(compare.Mismatch(name, "error", "no error (the reference runs it)",
                                        obs.describe()))
    order = [text for _, text in program.statements]
    for name in program.outputs:
        if name not in ref and name not in got:
            continue
        if name not in got and any(order.index(name) < order.index(n) for n in got):
            # a compiled run that raised returns only the error of the statement that
            # raised (staging.py): the outputs before it were never returned, not lost
            continue
        if name not in got or name not in ref:
            if not out:
                side = "the backend" if name not in got else "the reference"
                out.append(compare.Mismatch(name, "error", "a value", f"not reached: {side} "
                                            "raised earlier"))
            continue
        out += compare.compare(name, ref[name], got[name])
    return out


def _relations(case: Case, ref: dict[str, Observed], got: dict[str, Observed]) -> list[compare.Mismatch]:
    out = []
    for text in case.holds:
        if text in got:
            m = compare.holds(text, got[text], ref.get(text))
            if m:
                out.append(m)
    for text in case.raises:
        if text in got and got[text].kind != "error":
            out.append(compare.Mismatch(text, "error", "an error (the spec says every backend raises)",
                                        got[text].describe()))
    for left, right in case.agree:
        if left in got and right in got:
            out += compare.agree(left, right, got[left], got[right], ref.get(left), ref.get(right))
    return out


def _judge(mismatches: list[compare.Mismatch], entries: list[Divergence], variables: dict[str, Any],
           run: CellRun, compiled: bool = False) -> list[compare.Mismatch]:
    """Record which registered divergences this example exercised; return what is unexplained."""
    selected = [e for e in entries if e.selects(variables, compiled)]
    unexplained = []
    used: set[str] = set()
    for m in mismatches:
        match = next((e for e in selected if e.explains(m)), None)
        if match is None:
            unexplained.append(m)
        else:
            used.add(match.id)
    for e in selected:
        (run.observed if e.id in used else run.conformed)[e.id] += 1
    return unexplained


def _fail(cell_title: str, adapter: Adapter, mismatches: list[compare.Mismatch], variables: dict[str, Any],
          ref: dict[str, Observed], got: dict[str, Observed], source: str) -> ConformanceFailure:
    shown = {k: _show(v) for k, v in variables.items()}
    lines = [f"{adapter.name} disagrees: {cell_title}"]
    lines += [f"  {m.describe()}" for m in mismatches]
    if shown:
        lines.append("minimal example: " + ", ".join(f"{k} = {v}" for k, v in shown.items()))
    repro = reproducer(adapter, source, variables)
    lines += ["reproducer:", *("    " + line for line in repro.splitlines())]
    outputs = []
    for m in mismatches:
        base = m.output.split("  ==  ")[0].split("[")[0]
        outputs.append({
            "name": m.output,
            "reference": ref[base].to_json() if base in ref else _side(m.expected),
            "backend": got[base].to_json() if base in got else _side(m.got),
            "problem": m.problem,
            "difference": m.difference or f"expected {m.expected}, got {m.got}",
            "tolerance": m.tolerance or "exact",
        })
    details = {"message": "\n".join(lines[: 1 + len(mismatches)]), "example": shown,
               "outputs": outputs, "reproducer": repro, "kind": "disagreement"}
    return ConformanceFailure("\n".join(lines), details)


def _side(text: str) -> dict[str, Any]:
    return {"value": text, "dtype": None, "shape": None, "error": None}


def _show(value: Any) -> str:
    if isinstance(value, np.ndarray):
        dtype = "bool" if value.dtype == np.bool_ else str(value.dtype)
        shape = f", shape={value.shape}" if value.size == 0 and value.ndim != 1 else ""
        return f"tensor({value.tolist()!r}, dtype={dtype}{shape})"
    return repr(value)


# -- the two kinds of item --------------------------------------------------------------
def reference_outputs(case: Case, policy: DtypePolicy, variables: dict[str, Any],
                      seed: int) -> dict[str, Observed] | None:
    """The reference's outputs (with their error bounds) for one example under a
    backend's dtype policy; None where the example checks nothing under that policy
    (the documented semantics do not fix the answer at this precision, or no output
    can be compared)."""
    try:
        ref = _run(ReferenceAdapter(policy), case.program, variables, seed)
    except Indeterminate:
        return None
    return None if compare.all_unchecked(ref) else ref


def run_case_example(spec: Spec, case: Case, adapter: Adapter, variables: dict[str, Any], seed: int,
                     entries: list[Divergence], run: CellRun,
                     reference: dict[str, Observed] | None = None) -> None:
    """One example of a generated case on one backend.  ``reference``: the reference's
    outputs for it under the backend's policy, where already computed (corpus.py)."""
    if reference is None:
        with _timed(run, "reference"):
            reference = reference_outputs(case, adapter.policy, variables, seed)
    ref = reference
    if ref is None:
        reject()
    ref = dict(ref)  # shared by every cell that replays the example: never written
    if _is_oracle(adapter):
        got = ref  # the reference itself: its checks are the claim's relations
        with _timed(run, "compare"):
            mismatches, compiled = _relations(case, ref, got), False
    else:
        got, mismatches, compiled = _backend_outputs(spec, case, adapter, variables, seed, ref,
                                                     entries, run)
    oracles_before = sum(run.oracles.values())
    with _timed(run, "gradient_oracles"):
        mismatches += _gradient_oracles(case, adapter, variables, got, ref, run)
    run.examples += 1
    if _checked(case, ref, got) or sum(run.oracles.values()) > oracles_before:
        run.checked += 1
    unexplained = _judge(mismatches, entries, variables, run, compiled)
    if unexplained:
        raise _fail(f"{spec.id} / {case.id}", adapter, unexplained, variables, ref, got,
                    case.program.source)


def _checked(case: Case, ref: dict[str, Observed], got: dict[str, Observed]) -> bool:
    """Whether the example compared something: an output (the holds/agree relations are
    outputs too) that returned a value on at least one side, or one the case says must
    raise (``raises:``).  Both sides raising is agreement, but checks no claim."""
    for name in case.program.outputs:
        r, g = ref.get(name), got.get(name)
        if r is None or g is None:
            continue
        if name in case.raises or r.kind != "error" or g.kind != "error":
            return True
    return False


def _backend_outputs(spec: Spec, case: Case, adapter: Adapter, variables: dict[str, Any],
                     seed: int, ref: dict[str, Observed], entries: list[Divergence],
                     run: CellRun) -> tuple[dict[str, Observed], list[compare.Mismatch], bool]:
    """The backend's outputs and their differences from the reference and the claim.

    A backend that compiles (``stage``) runs the program as one compiled function.
    If that shows a difference no registered divergence explains, the program runs
    again operation by operation: the notes' semantics are eager, and a difference
    that only compilation produces is reported as such (registered with
    ``compiled: true``).  The flag returned says whether the compiled run stands."""
    def differences(got: dict[str, Observed]) -> list[compare.Mismatch]:
        with _timed(run, "compare"):
            return _differential(case.program, ref, got) + _relations(case, ref, got)

    staged = _run_compiled(adapter, case.program, variables, seed, run, strict=case.compiled)
    if staged is not None:
        staged_differences = differences(staged)
        selected = [e for e in entries if e.selects(variables, compiled=True)]
        if case.compiled or all(any(e.explains(m) for e in selected) for m in staged_differences):
            run.staged += 1
            return staged, staged_differences, True
    try:
        with _timed(run, "backend"):
            got = _run(adapter, case.program, variables, seed)
    except Indeterminate:
        reject()
    mismatches = differences(got)
    if staged is not None and not mismatches:
        # also where the eager run raises (an error that depends on values) and the
        # compiled one returns values: compiling changed the result, and the report
        # shows what the compiled program returned
        raise _fail(f"{spec.id} / {case.id}, only when the whole program is compiled "
                    f"({adapter.name}'s stage(); operation by operation it agrees)",
                    adapter, staged_differences, variables, ref, staged, case.program.source)
    return got, mismatches, False


def _gradient_oracles(case: Case, adapter: Adapter, variables: dict[str, Any],
                      got: dict[str, Observed], ref: dict[str, Observed],
                      run: CellRun) -> list[compare.Mismatch]:
    """Finite differences and forward mode against the backend's gradients (gradients.py)."""
    gp = gradients.gradient_program(case.program)
    if gp is None or case.compiled:
        return []
    with _context(adapter):
        inputs = None if _is_oracle(adapter) else _inputs(adapter, variables)
        found = gradients.check(gp, adapter, variables, got, ref, inputs)
    run.oracles.update(found.checked)
    run.along = found.along
    return found.mismatches


def run_example(spec: Spec, example: Example, adapter: Adapter, entries: list[Divergence],
                run: CellRun) -> None:
    """The notes' literal example, line by line, against what the notes print.

    The reference runs alongside under the backend's policy: it supplies the dtype
    each printed value should have on this backend (see ``compare.against_printed``)."""
    is_oracle = _is_oracle(adapter) and adapter.policy == DOCUMENTED_POLICY
    oracle = Interpreter(ReferenceAdapter(adapter.policy))
    interp = Interpreter(adapter)
    mismatches: list[compare.Mismatch] = []
    got: dict[str, Observed] = {}
    with _context(adapter):
        for step in example.steps:
            ref_outputs = oracle.run(step.program, lambda v: observe(oracle.adapter, v))
            outputs = interp.run(step.program, lambda v: observe(adapter, v))
            raised = next((v for v in outputs.values() if v.kind == "error"), None)
            if raised is not None and not step.has_output:
                mismatches.append(compare.Mismatch(
                    step.program.source.strip(), "error", "no error (the notes run this line)",
                    str(raised.error)))
                break
            if step.has_output:
                name = step.program.outputs[0]
                # missing: an earlier statement of the line raised, and that error is shown
                obs = outputs.get(name, raised)
                if obs is None:  # the interpreter returns the output or raises first
                    raise RuntimeError(f"{name}: the backend's run gave neither it nor an error")
                ref = None if is_oracle else ref_outputs.get(name)
                got[name] = obs
                mismatches += compare.against_printed(name, step.printed, obs, adapter.policy,
                                                      example.exact_dtypes, ref)
                if raised is not None:
                    break
    run.examples += 1
    if any(obs.kind != "error" for obs in got.values()):
        run.checked += 1
    unexplained = _judge(mismatches, entries, {}, run)
    if unexplained:
        expected = {s.program.outputs[0]: Observed("python", _Printed(s.text))
                    for s in example.steps if s.has_output}
        raise _fail(f"{spec.id} / {example.id} (the notes' example)", adapter, unexplained, {},
                    expected, got, "\n".join(s.program.source.rstrip() for s in example.steps))


class _Printed(str):
    """The notes' printed text, shown as is (not quoted) in reports."""

    def __repr__(self) -> str:
        return str(self)
