"""Gradient cells: every generated case, differentiated (claims D02, D04, D06, A06).

The calculus and autograd specs check gradients of their own programs.  A wrong
backward of any other documented operation (``cumsum``, ``exp``, ``x * 2``, indexing,
``cat``, a reduction) would pass them as long as its forward value is right.  So
every generated case whose draws include a floating-point tensor also runs, on
each backend with autograd, as a *differentiated program*:

* its floating-point input tensors that the code reads are leaves
  (``X.requires_grad_(True)``);
* every output that is a floating-point tensor computed from a leaf (found by
  running the reference first, with its tape) is multiplied by a drawn cotangent of
  its shape and summed: ``_loss = (_out0 * _v0).sum() + (_out1 * _v1).sum() + ...``
  (the cotangents' values are multiples of 1/4 in [-2, 2], never 0);
* ``_loss.backward()`` runs and each leaf's ``.grad`` is an output.

That program then runs like any case (conformance/engine.py): each ``X.grad`` is
compared with the reference's tape within its error bound, and checked by the two
independent oracles of conformance/gradients.py, central finite differences in
float64 and the backend's forward mode.  ``results.json`` counts each per cell
(``gradient_oracles``: ``reference_tape``, ``finite_differences``, ``forward_mode``).

Where a derivative is undefined at the drawn point (|x| at 0, a norm at the zero
vector, ``x ** y`` at x = 0, ``x / 0``) the reference's gradient element has an
infinite bound and is not compared (adapters/reference/autograd.py,
``kinks_unchecked``); comparisons, ``==`` and integer outputs are not differentiated
at all; finite differences are inconclusive where the program is not smooth.
An example with no output to differentiate (every float output is a constant, or the
program raises before one) is inconclusive too: counted, never a pass or a failure.

Writing in place: a leaf that requires grad cannot be written (``X += Y``,
``X[i] = v`` raise RuntimeError in PyTorch); that raising is checked like any error
(claim A06).  A tensor that is not a leaf can be written and gradients flow through
the write (``Z = zeros_like(Y); Z[:] = X + Y``).

Cost: a gradient example costs several forward examples (a reference tape, five
float64 reference runs for finite differences, forward mode), so a gradient cell
runs a fixed share, ``SHARE``, of the profile's examples per case (never fewer than
``MIN_EXAMPLES``); results.json records it (``run.gradient_share``).
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import reject, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tensor_conformance import engine
from tensor_conformance.adapters.protocol import Adapter
from tensor_conformance.adapters.reference import autograd as reference_autograd
from tensor_conformance.adapters.reference.adapter import ReferenceAdapter
from tensor_conformance.adapters.reference.tensor import Indeterminate
from tensor_conformance.adapters.reference.tensor import Tensor as RefTensor
from tensor_conformance.divergences import GRADIENT_SUFFIX, Divergence
from tensor_conformance.engine import CellRun, ConformanceFailure
from tensor_conformance.program import Interpreter, Program, Raised
from tensor_conformance.spec import Case, Spec
from tensor_conformance.strategies import Draw, build

#: the share of the profile's examples a gradient cell runs (measured: see README)
SHARE = 0.1
MIN_EXAMPLES = 5
FLOAT_DTYPES = ("float32", "float64")
#: cotangent values: exact in every float dtype, never 0, simplest first (shrinking)
COTANGENT_VALUES = (1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 0.25, -0.25, 1.5, -1.5, 0.75, -0.75,
                    1.25, -1.25, 1.75, -1.75)
#: operations through which a gradient flows (a program with two or more is a chain)
_DIFFERENTIABLE_CALLS = {"exp", "abs", "dot", "mv", "mm", "norm", "sum", "mean", "cumsum",
                         "reshape", "cat"}
_DIFFERENTIABLE_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub)


@dataclass(frozen=True)
class GradientCheck:
    """The item of a gradient cell: ``case``, differentiated."""

    case: Case
    #: the case's draws, with every dtype choice narrowed to its floating-point dtypes
    given: dict[str, Draw]
    #: input tensors the code reads that may be floating point: the leaves
    candidates: tuple[str, ...]
    claims: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.case.id}{GRADIENT_SUFFIX}"

    @property
    def needs(self) -> frozenset[str]:
        return self.case.needs | {"autograd"}

    @property
    def operations(self) -> frozenset[str]:
        return self.case.operations | {"requires_grad_", "backward", "grad"}

    @property
    def raises(self) -> tuple[str, ...]:
        return ()

    def nothing_to_differentiate(self, run: CellRun) -> str:
        """Why a cell none of whose examples had a gradient to check is not applicable."""
        return (f"no example had a floating-point output computed from "
                f"{', '.join(self.candidates)} ({run.oracles['inconclusive']} examples were "
                "inconclusive)")

    @property
    def source(self) -> str:
        leaves = ", ".join(self.candidates)
        return (f"# {leaves}: requires_grad_(True); each float output _out<k> of the case "
                f"computed from them:\n{self.case.program.source.rstrip()}\n"
                "_loss = (_out0 * _v0).sum() + ...   # _v<k>: drawn cotangents\n"
                f"_loss.backward()\n# then {', '.join(f'{x}.grad' for x in self.candidates)}\n")


def gradient_check(case: Case) -> GradientCheck | None:
    """The gradient cell of ``case``, or None where there is nothing to differentiate:
    no input may be floating point, the case already differentiates (its own cell
    checks its gradients), it draws random numbers or it is a compiled-only case."""
    if case.compiled or case.program.needs & {"autograd", "random"}:
        return None
    given = {name: _narrowed(entry) for name, entry in case.given_spec.items()}
    read = {n.id for n in ast.walk(case.program.tree)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    candidates = tuple(name for name, entry in given.items()
                       if "array" in entry and name in read and _may_be_float(entry, given))
    if not candidates:
        return None
    return GradientCheck(case, {name: build(name, entry) for name, entry in given.items()},
                         candidates, _claims(case.program, candidates))


def _narrowed(entry: dict[str, Any]) -> dict[str, Any]:
    (kind, spec), = entry.items()
    if kind == "dtypes" and any(d in FLOAT_DTYPES for d in spec):
        return {"dtypes": [d for d in spec if d in FLOAT_DTYPES]}
    return entry


def _may_be_float(entry: dict[str, Any], given: dict[str, Any]) -> bool:
    dtype = entry["array"]["dtype"]
    if dtype in given and "dtypes" in given[dtype]:
        return any(d in FLOAT_DTYPES for d in given[dtype]["dtypes"])
    return dtype in FLOAT_DTYPES


def _claims(program: Program, candidates: tuple[str, ...]) -> tuple[str, ...]:
    """D02 (the rules of the scalar loss) and D04 (the loss's gradient is the cotangent
    times the outputs' Jacobian), D06 where the outputs compose two or more
    differentiable operations, A06 where the program writes in place.  A program
    that only writes into its inputs checks just that this raises (A06)."""
    targets = _write_targets(program)
    claims = [] if targets and targets <= set(candidates) else ["D02", "D04"]
    if claims and _is_chain(program):
        claims.append("D06")
    if targets:
        claims.append("A06")
    return tuple(claims)


def _write_targets(program: Program) -> set[str]:
    out = set()
    for node in ast.walk(program.tree):
        target: ast.expr | None = None
        if isinstance(node, ast.AugAssign):
            target = node.target
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            target = node.value
        if isinstance(target, ast.Name):
            out.add(target.id)
    return out


def _is_chain(program: Program) -> bool:
    """Does some statement compose two differentiable operations, directly or through a
    name an earlier statement computed with one (``C = cat(...)``, then ``C.sum()``)?"""
    computed: set[str] = set()
    for stmt, _ in program.statements:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Assign | ast.Expr | ast.Return):
                value = node.value
                if value is None:
                    continue
                depth = _operations(value) + any(isinstance(n, ast.Name) and n.id in computed
                                                 for n in ast.walk(value))
                if depth >= 2:
                    return True
                if isinstance(node, ast.Assign) and _operations(value):
                    computed |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return False


def _operations(tree: ast.AST) -> int:
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp | ast.UnaryOp) and isinstance(node.op, _DIFFERENTIABLE_OPS):
            count += 1
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            count += name in _DIFFERENTIABLE_CALLS
        elif isinstance(node, ast.Subscript | ast.Attribute) and _reads_part(node):
            count += 1
    return count


def _reads_part(node: ast.Subscript | ast.Attribute) -> bool:
    """Indexing and ``.T`` pass gradients too."""
    if isinstance(node, ast.Subscript):
        return isinstance(node.ctx, ast.Load)
    return node.attr == "T"


# -- building the differentiated program -----------------------------------------------
@dataclass(frozen=True)
class _Builder:
    """Writes differentiated versions of one case program for a set of leaves."""

    program: Program
    leaves: tuple[str, ...]

    def renames(self) -> dict[str, str]:
        """A leaf the code assigns to gets a working copy, so that ``X.grad`` still
        names the leaf at the end."""
        stored = {n.id for n in ast.walk(self.program.tree)
                  if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        taken = stored | {n.id for n in ast.walk(self.program.tree) if isinstance(n, ast.Name)}
        out = {}
        for leaf in self.leaves:
            if leaf in stored:
                new = f"{leaf}_"
                while new in taken:
                    new += "_"
                out[leaf] = new
        return out

    def preamble(self) -> list[str]:
        return ([f"{leaf}.requires_grad_(True)" for leaf in self.leaves]
                + [f"{new} = {old}" for old, new in self.renames().items()])

    def statements(self, outputs: set[int] | None, stop: int | None = None) -> list[str]:
        """The case's statements up to ``stop``; top-level expressions whose index is in
        ``outputs`` (all, when None) become ``_out<k> = ...``, the others are dropped."""
        renamed = _Renamer(self.renames())
        lines = []
        for k, (stmt, _) in enumerate(self.program.statements[:stop]):
            node = renamed.visit(copy.deepcopy(stmt))
            if isinstance(node, ast.Expr):
                if outputs is None or k in outputs:
                    lines.append(f"_out{k} = {ast.unparse(node.value)}")
            else:
                lines.append(ast.unparse(node))
        return lines

    def probe(self) -> Program:
        return Program.parse("\n".join([*self.preamble(), *self.statements(None)]) + "\n")

    def differentiated(self, outputs: list[int], stop: int | None) -> Program:
        loss = " + ".join(f"(_out{k} * _v{k}).sum()" for k in outputs)
        lines = [*self.preamble(), *self.statements(set(outputs), stop),
                 f"_loss = {loss}", "_loss.backward()", *(f"{leaf}.grad" for leaf in self.leaves)]
        return Program.parse("\n".join(lines) + "\n")

    def written_leaf(self, stop: int) -> Program:
        """The program up to a write into a leaf, then the leaves: PyTorch raises at the
        write, so a backend that does not shows the leaves the reference never reached."""
        lines = [*self.preamble(), *self.statements(set(), stop + 1), *self.leaves]
        return Program.parse("\n".join(lines) + "\n")


class _Renamer(ast.NodeTransformer):
    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id in self.names:
            return ast.copy_location(ast.Name(self.names[node.id], node.ctx), node)
        return node


@dataclass(frozen=True)
class _Plan:
    """What the reference's probe found for one example."""

    program: Program
    #: the output each cotangent multiplies: (name, shape, dtype)
    cotangents: tuple[tuple[str, tuple[int, ...], str], ...]
    #: the example checks that writing into a leaf raises (A06)
    writes_into_leaf: bool


def _plan(check: GradientCheck, variables: dict[str, Any], adapter: Adapter) -> _Plan | None:
    """Run the case with its leaves on the reference (under the backend's policy) and
    decide what to differentiate; None where nothing can be (inconclusive)."""
    leaves = tuple(name for name in check.candidates
                   if isinstance(variables[name], np.ndarray) and variables[name].dtype.kind == "f")
    if not leaves:
        return None
    builder = _Builder(check.case.program, leaves)
    probe = builder.probe()
    ref = ReferenceAdapter(adapter.policy)
    interp = Interpreter(ref, {k: ref.from_host(v) if isinstance(v, np.ndarray) else v
                               for k, v in variables.items()})
    with reference_autograd.kinks_unchecked():
        outputs = interp.run(probe)
    raised = next((v for v in outputs.values() if isinstance(v, Raised)), None)
    stop = None
    if raised is not None:
        index = [text for _, text in probe.statements].index(raised.statement)
        stop = index - len(builder.preamble())
        if stop < 0:  # requires_grad_ itself raised: not a float leaf after all
            return None
        stmt = check.case.program.statements[stop][0]
        if _writes_into(stmt, set(leaves)) and isinstance(raised.error, RuntimeError):
            return _Plan(builder.written_leaf(stop), (), True)
    chosen: list[int] = []
    cotangents = []
    seen: set[str] = set()
    for k, (stmt, text) in enumerate(check.case.program.statements[:stop]):
        value = interp.globals.get(f"_out{k}")
        if (isinstance(stmt, ast.Expr) and text not in seen and isinstance(value, RefTensor)
                and value.is_float and value.requires_grad):
            seen.add(text)
            chosen.append(k)
            cotangents.append((f"_v{k}", value.shape, value.dtype))
    if not chosen:
        return None
    return _Plan(builder.differentiated(chosen, stop), tuple(cotangents), False)


def _writes_into(stmt: ast.stmt, names: set[str]) -> bool:
    if isinstance(stmt, ast.AugAssign):
        return isinstance(stmt.target, ast.Name) and stmt.target.id in names
    if isinstance(stmt, ast.Assign):
        return any(isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name)
                   and t.value.id in names for t in stmt.targets)
    return False


def _cotangent(shape: tuple[int, ...], dtype: str) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.dtype(dtype), shape, elements=st.sampled_from(COTANGENT_VALUES),
                      fill=st.nothing())


# -- running a gradient cell ---------------------------------------------------------------
#: a cotangent for an output: (name, shape, dtype) -> its values
Cotangents = Callable[[str, tuple[int, ...], str], np.ndarray]


def drawn_cotangents(data: st.DataObject) -> Cotangents:
    """Cotangents drawn by hypothesis (a cell that searches and shrinks)."""
    return lambda name, shape, dtype: data.draw(_cotangent(shape, dtype), label=name)


def fixed_cotangents(index: int) -> Cotangents:
    """Cotangents for the ``index``-th example of a replayed corpus (corpus.py): the
    same values on every backend, from the same set hypothesis draws from."""
    rng = np.random.default_rng(index)
    return lambda name, shape, dtype: rng.choice(np.array(COTANGENT_VALUES), shape).astype(dtype)


def program_run(check: GradientCheck, variables: dict[str, Any], adapter: Adapter) -> Program:
    """The differentiated program a gradient cell runs on ``variables`` (for a crash's
    reproducer, where the cell's worker died); the case's own program where the
    reference's probe cannot say."""
    try:
        plan = _plan(check, variables, adapter)
    except Exception:  # the probe is the reference's: a courtesy here, never an error
        plan = None
    return check.case.program if plan is None else plan.program


def run_example(spec: Spec, check: GradientCheck, adapter: Adapter, cotangent: Cotangents,
                variables: dict[str, Any], entries: list[Divergence], run: CellRun) -> None:
    """One example of a gradient cell (see the module docstring), on the case's drawn
    ``variables``; the cotangents are chosen here, once the reference's probe has found
    the outputs they multiply."""
    try:
        plan = _plan(check, variables, adapter)
    except Indeterminate:
        reject()
    if plan is None:
        run.oracles["inconclusive"] += 1
        return
    for name, shape, dtype in plan.cotangents:
        variables[name] = cotangent(name, shape, dtype)
    case = Case(check.id, {}, {}, plan.program, (), ())
    before = run.examples
    run.along = {}
    try:
        with reference_autograd.kinks_unchecked():
            engine.run_case_example(spec, case, adapter, variables, 0, entries, run)
    except ConformanceFailure as failure:
        raise _with_oracles(failure, run.along) from None
    if run.examples > before:
        if plan.writes_into_leaf:
            run.oracles["in_place_on_leaf_raises"] += 1
        elif type(adapter) is not ReferenceAdapter:
            run.oracles["reference_tape"] += 1


def _with_oracles(failure: ConformanceFailure, along: dict[str, float | None]) -> ConformanceFailure:
    """The failure, with what each oracle says the loss's derivative along the leaves'
    direction v is (gradients.py): the backend's reverse mode, the reference's tape,
    finite differences and forward mode (None: inconclusive or not available)."""
    if not along:
        return failure
    lines = ["the loss's derivative along v (conformance/gradients.py):",
             *(f"  {name}: {'inconclusive' if value is None else repr(value)}"
               for name, value in along.items())]
    message = str(failure)
    head, sep, rest = message.partition("\nminimal example:")
    details = {**failure.details, "oracles": along,
               "message": failure.details["message"] + "\n" + "\n".join(lines)}
    return ConformanceFailure("\n".join([head, *lines]) + sep + rest, details)


def examples_per_cell() -> int:
    """The share of the current profile's examples a gradient cell runs."""
    return max(MIN_EXAMPLES, round(settings().max_examples * SHARE))
