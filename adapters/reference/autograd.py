"""Reverse-mode autograd for the reference, with the documented (PyTorch) state semantics.

* ``requires_grad_()`` marks a floating leaf tensor; its ``grad`` is None until a
  backward pass reaches it;
* every operation on a tracked tensor records a ``Node`` (its inputs and how to
  push a gradient back);
* ``backward(y)`` of a one-element ``y`` walks the recorded graph in reverse
  topological order and **adds** each leaf's gradient to its ``grad`` (gradients
  accumulate across calls until ``grad.zero_()``);
* ``detach()`` returns the value without its history;
* Python control flow needs nothing special: only the operations actually run
  are recorded;
* writing in place (``x[i] = v``, ``x += y``) into a leaf that requires grad
  raises, as in PyTorch; writing a tracked value into an untracked tensor makes
  that tensor part of the graph (its written region's gradient goes to the value).

Where a rule's derivative is undefined at the point (|x| at 0, ||x|| at the zero
vector, x ** y at x = 0 or for y with x < 0, x / 0), the reference returns PyTorch's
choice.  Inside ``kinks_unchecked()`` (the gradient cells of conformance/
differentiation.py, whose programs the notes never differentiate) those elements get
an infinite bound instead: libraries choose differently there, and nothing is checked.

Gradients are computed with the same operations as values, so they carry error
bounds too.  Each wrapper below computes the value with ``ops`` and attaches the
rule of the notes' tables (section 3) as the backward function.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from tensor_conformance.adapters.protocol import DtypePolicy
from tensor_conformance.adapters.reference import bounds as B
from tensor_conformance.adapters.reference import ops
from tensor_conformance.adapters.reference.tensor import (
    Indeterminate,
    Node,
    Tensor,
    broadcast_index,
    normalize_axis,
)

Scalar = bool | int | float
Grad = Tensor | None

_KINKS_UNCHECKED = contextvars.ContextVar("kinks_unchecked", default=False)


@contextlib.contextmanager
def kinks_unchecked() -> Iterator[None]:
    """Gradients at points where a rule is undefined get infinite bounds (see above)."""
    token = _KINKS_UNCHECKED.set(True)
    try:
        yield
    finally:
        _KINKS_UNCHECKED.reset(token)


def _unchecked_where(t: Tensor, undefined: Sequence[bool]) -> Tensor:
    """``t`` with an infinite bound wherever ``undefined`` (inside ``kinks_unchecked``)."""
    if not _KINKS_UNCHECKED.get() or not any(undefined) or not t.is_float:
        return t
    bnds = [math.inf if bad else t.bound(i) for i, bad in enumerate(undefined)]
    return Tensor(t.shape, t.dtype, list(t.values), bnds, t.unsure)


def _cast(g: Tensor, dtype: str) -> Tensor:
    """A gradient has its input's dtype (PyTorch casts it): one more rounding."""
    if g.dtype == dtype:
        return g
    out = ops.make(g.shape, dtype, g.values)
    u = B.unit(dtype)
    return Tensor(out.shape, dtype, out.values,
                  [g.bound(i) + 2 * u * abs(v) + B.floor(dtype) if math.isfinite(v) else g.bound(i)
                   for i, v in enumerate(out.values)])


def _tracked(value: Tensor, inputs: Sequence[Any], backward: Callable[[Tensor], tuple[Grad, ...]],
             name: str) -> Tensor:
    tensors = tuple(t for t in inputs if isinstance(t, Tensor))
    if any(t.requires_grad for t in tensors):
        value.requires_grad = True
        # only inputs tracked now are edges: one that becomes tracked later (written in
        # place) must not receive gradients through this operation
        edges = tuple(t if isinstance(t, Tensor) and t.requires_grad else None for t in inputs)
        value.grad_fn = Node(edges, backward, name)  # type: ignore[arg-type]
    return value


def _unbroadcast(g: Tensor, shape: tuple[int, ...], policy: DtypePolicy) -> Tensor:
    """Sum a broadcast gradient back to the input's shape."""
    while len(g.shape) > len(shape):
        g = ops.sum_(g, 0, False, policy)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = ops.sum_(g, axis, True, policy)
    return g


def _grad_for(x: Any, g: Tensor, policy: DtypePolicy) -> Grad:
    if isinstance(x, Tensor) and x.requires_grad:
        return _cast(_unbroadcast(g, x.shape, policy), x.dtype)
    return None


# -- elementwise ------------------------------------------------------------------
def add(a: Any, b: Any, policy: DtypePolicy) -> Tensor:
    return _tracked(ops.add(a, b, policy), (a, b),
                    lambda g: (_grad_for(a, g, policy), _grad_for(b, g, policy)), "add")


def sub(a: Any, b: Any, policy: DtypePolicy) -> Tensor:
    return _tracked(ops.sub(a, b, policy), (a, b),
                    lambda g: (_grad_for(a, g, policy), _grad_for(b, ops.neg(g), policy)), "sub")


def mul(a: Any, b: Any, policy: DtypePolicy) -> Tensor:
    """d(uv) = du v + dv u."""
    return _tracked(
        ops.mul(a, b, policy), (a, b),
        lambda g: (_grad_for(a, ops.mul(g, b, policy), policy),
                   _grad_for(b, ops.mul(g, a, policy), policy)),
        "mul",
    )


def div(a: Any, b: Any, policy: DtypePolicy) -> Tensor:
    def backward(g: Tensor) -> tuple[Grad, ...]:
        ga = _grad_for(a, ops.div(g, b, policy), policy)
        gb = None
        if isinstance(b, Tensor) and b.requires_grad:
            gb = _grad_for(b, ops.neg(ops.div(ops.mul(g, a, policy), ops.mul(b, b, policy), policy)),
                           policy)
        return _at_poles(ga, b), _at_poles(gb, b)

    return _tracked(ops.div(a, b, policy), (a, b), backward, "div")


def _at_poles(grad: Grad, b: Any) -> Grad:
    """x / y has no derivative where y = 0."""
    if grad is None or not isinstance(b, Tensor) or b.numel == 0:
        return grad
    zero = [v == 0 for v in b.values]
    if grad.shape != b.shape:  # b was broadcast: any zero it contributes is a pole
        zero = [any(zero)] * grad.numel
    return _unchecked_where(grad, zero)


def _undefined_power(a: float, b: float) -> bool:
    """Where a ** b has no derivative in a or b: a = 0, a < 0 with b not an integer
    (NaN), a non-finite operand."""
    return (a == 0 or not math.isfinite(a) or not math.isfinite(b)
            or (a < 0 and not float(b).is_integer()))


def pow_(a: Any, b: Any, policy: DtypePolicy) -> Tensor:
    """d a^c = c a^(c-1) da; d a^b / db = a^b ln a (for a > 0; PyTorch's 0 at a = 0 with
    b >= 0, NaN for a < 0)."""
    value = ops.pow_(a, b, policy)

    def backward(g: Tensor) -> tuple[Grad, ...]:
        local = ops.mul(b, ops.pow_(a, ops.sub(b, 1, policy) if isinstance(b, Tensor) else b - 1,
                                    policy), policy)
        ga = _grad_for(a, ops.mul(g, local, policy), policy)
        gb = None
        if isinstance(b, Tensor) and b.requires_grad:
            gb = _grad_for(b, ops.mul(g, _log_factor(a, b, value), policy), policy)
        undefined = [_undefined_power(x, y) for x, y in _pairs(a, b, value.shape)]
        if ga is not None and ga.shape == value.shape:
            ga = _unchecked_where(ga, undefined)
        if gb is not None and gb.shape == value.shape:
            gb = _unchecked_where(gb, undefined)
        return ga, gb

    return _tracked(value, (a, b), backward, "pow")


def _pairs(a: Any, b: Any, shape: tuple[int, ...]) -> list[tuple[float, float]]:
    """The operands of each element of a broadcast binary operation."""
    def expand(x: Any) -> list[Any]:
        if not isinstance(x, Tensor):
            return [x] * math.prod(shape)
        return [x.values[i] for i in broadcast_index(x.shape, shape)]
    return list(zip(expand(a), expand(b), strict=True))


def _log_factor(a: Any, b: Tensor, value: Tensor) -> Tensor:
    """a^b ln a elementwise (0 where a = 0 and b >= 0, as PyTorch), with its bound:
    the backend's rounding of ln and of the product, and the inputs' bounds through
    d/da = a^(b-1) (b ln a + 1), d/db = a^b ln^2 a."""
    dtype = value.dtype
    u = B.unit(dtype)
    pairs = _pairs(a, b, value.shape)
    ea = _expand_bounds(a, value.shape)
    eb = _expand_bounds(b, value.shape)
    vals, bnds = [], []
    for i, ((x, y), v) in enumerate(zip(pairs, value.values, strict=True)):
        if x == 0 and y >= 0:
            vals.append(0.0)
            bnds.append(0.0)
            continue
        if x <= 0 or not math.isfinite(x) or not math.isfinite(v):
            vals.append(math.nan)
            bnds.append(math.inf)
            continue
        ln = math.log(x)
        r = v * ln
        prop = abs(v / x * (y * ln + 1)) * ea[i] + abs(v * ln * ln) * eb[i] + abs(ln) * value.bound(i)
        vals.append(r)
        bnds.append(prop + 20 * u * abs(r) + B.floor(dtype))
    return ops.make(value.shape, dtype, vals, bnds)


def _expand_bounds(x: Any, shape: tuple[int, ...]) -> list[float]:
    n = math.prod(shape)
    if not isinstance(x, Tensor):
        return [0.0] * n
    if x.shape == shape:
        return [x.bound(i) for i in range(n)]
    return [x.bound(i) for i in broadcast_index(x.shape, shape)]


def neg(x: Tensor, policy: DtypePolicy) -> Tensor:
    return _tracked(ops.neg(x), (x,), lambda g: (_grad_for(x, ops.neg(g), policy),), "neg")


def exp(x: Tensor, policy: DtypePolicy) -> Tensor:
    value = ops.exp(x, policy)
    return _tracked(value, (x,), lambda g: (_grad_for(x, ops.mul(g, value, policy), policy),), "exp")


def abs_(x: Tensor, policy: DtypePolicy) -> Tensor:
    """d|x| = sign(x) dx, with 0 at x = 0 (PyTorch's choice; the notes do not say)."""
    def backward(g: Tensor) -> tuple[Grad, ...]:
        sign = ops.make(x.shape, x.dtype, [(v > 0) - (v < 0) for v in x.values])
        grad = _grad_for(x, ops.mul(g, sign, policy), policy)
        return (None if grad is None else _unchecked_where(grad, [v == 0 for v in x.values]),)

    return _tracked(ops.abs_(x), (x,), backward, "abs")


# -- shape ------------------------------------------------------------------------
def reshape(x: Tensor, shape: Sequence[int]) -> Tensor:
    return _tracked(ops.reshape(x, shape), (x,), lambda g: (ops.reshape(g, x.shape),), "reshape")


def transpose(x: Tensor) -> Tensor:
    return _tracked(ops.transpose(x), (x,), lambda g: (ops.transpose(g),), "transpose")


def getitem(x: Tensor, key: Any, policy: DtypePolicy) -> Tensor:
    """Indexing picks elements: the gradient goes back to the picked positions, zero elsewhere."""
    def backward(g: Tensor) -> tuple[Grad, ...]:
        full = ops.full(x.shape, 0, g.dtype, policy)
        ops.setitem(full, key, g, policy)
        return (full,)

    return _tracked(ops.getitem(x, key), (x,), backward, "getitem")


# -- reductions -------------------------------------------------------------------
def _expand_back(g: Tensor, x: Tensor, axis: int | None, keepdims: bool,
                 policy: DtypePolicy) -> Tensor:
    """Broadcast a reduction's gradient back over the reduced axis: d sum(x) = 1."""
    if axis is not None and not keepdims and x.shape:
        ax = axis % len(x.shape)
        g = ops.reshape(g, (*g.shape[:ax], 1, *g.shape[ax:]))
    elif axis is None and not keepdims:
        g = ops.reshape(g, (1,) * len(x.shape))
    return ops.mul(g, ops.full(x.shape, 1, g.dtype, policy), policy)


def sum_(x: Tensor, axis: int | None, keepdims: bool, policy: DtypePolicy) -> Tensor:
    return _tracked(ops.sum_(x, axis, keepdims, policy), (x,),
                    lambda g: (_expand_back(g, x, axis, keepdims, policy),), "sum")


def mean(x: Tensor, axis: int | None, keepdims: bool, policy: DtypePolicy) -> Tensor:
    n = x.numel if axis is None or not x.shape else x.shape[axis % len(x.shape)]
    return _tracked(ops.mean(x, axis, keepdims, policy), (x,),
                    lambda g: (ops.div(_expand_back(g, x, axis, keepdims, policy), n, policy),),
                    "mean")


def norm(x: Tensor, p: float, policy: DtypePolicy) -> Tensor:
    """d ||x||_p / dx_i = sign(x_i) |x_i|^(p-1) / ||x||^(p-1): x / ||x|| for p = 2,
    sign(x) for p = 1; at x = 0 the subgradient 0 (PyTorch's choice)."""
    value = ops.norm(x, p, policy)

    def backward(g: Tensor) -> tuple[Grad, ...]:
        v = value.values[0]
        if p == 2:
            scale = ops.make((), x.dtype, [0.0 if v == 0 else 1.0])
            local = ops.mul(ops.div(x, value, policy) if v else ops.mul(x, 0.0, policy), scale,
                            policy)
            undefined = [v == 0] * x.numel
        else:
            local = _lp_local(x, value, p)
            undefined = [v == 0 or (t == 0 and p <= 1) for t in x.values]
        return (_unchecked_where(ops.mul(g, local, policy), undefined),)

    return _tracked(value, (x,), backward, "norm")


def _lp_local(x: Tensor, value: Tensor, p: float) -> Tensor:
    """sign(x_i) |x_i|^(p-1) / v^(p-1) with its bound: the pow and division roundings,
    and the relative errors of x_i and v times (p - 1)."""
    v, ev = value.values[0], value.bound(0)
    u = B.unit(x.dtype)
    vals, bnds = [], []
    for i, t in enumerate(x.values):
        if v == 0 or not math.isfinite(v) or not math.isfinite(t):
            vals.append(0.0 if v == 0 else math.nan)
            bnds.append(0.0 if v == 0 else math.inf)
            continue
        r = math.copysign(1.0, t) * (abs(t) / v) ** (p - 1) if t else 0.0
        rel = abs(p - 1) * ((x.bound(i) / abs(t) if t else 0.0) + ev / v)
        vals.append(r)
        bnds.append(abs(r) * (rel + 20 * u) + B.floor(x.dtype))
    return ops.make(x.shape, x.dtype, vals, bnds)


# -- running sums and joins ---------------------------------------------------------
def cumsum(x: Tensor, axis: int, policy: DtypePolicy) -> Tensor:
    """c_k = x_0 + ... + x_k: the gradient of x_j is the reversed running sum of g,
    g_j + ... + g_last = sum(g) - cumsum(g)_j + g_j."""
    def backward(g: Tensor) -> tuple[Grad, ...]:
        if not x.shape:
            return (_grad_for(x, g, policy),)
        total = ops.sum_(g, axis, True, policy)
        rest = ops.sub(total, ops.cumsum(g, axis, policy), policy)
        return (_grad_for(x, ops.add(rest, g, policy), policy),)

    return _tracked(ops.cumsum(x, axis, policy), (x,), backward, "cumsum")


def cat(tensors: Sequence[Tensor], axis: int, policy: DtypePolicy) -> Tensor:
    """Each input gets its own slice of the gradient along ``axis``."""
    value = ops.cat(tensors, axis, policy)
    parts = list(tensors)

    def backward(g: Tensor) -> tuple[Grad, ...]:
        ax = normalize_axis(axis, len(g.shape))
        out: list[Grad] = []
        start = 0
        for t in parts:
            stop = start + t.shape[ax]
            piece = ops.getitem(g, (slice(None),) * ax + (slice(start, stop),))
            out.append(_grad_for(t, piece, policy))
            start = stop
        return tuple(out)

    return _tracked(value, parts, backward, "cat")


# -- writing in place ---------------------------------------------------------------
def _writable(x: Tensor) -> None:
    if x.requires_grad and x.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    if x.requires_grad:
        raise Indeterminate("an in-place write into a tensor with recorded history is not "
                            "modelled by the reference's tape")


def setitem(x: Tensor, key: Any, value: Any, policy: DtypePolicy) -> None:
    """x[key] = value: a leaf that requires grad cannot be written (PyTorch raises); an
    untracked x written with a tracked value joins the graph: the gradient of the
    written region goes to value, the rest of x was a constant."""
    _writable(x)
    ops.setitem(x, key, value, policy)
    if isinstance(value, Tensor) and value.requires_grad:
        x.requires_grad = True
        x.grad_fn = Node((value,), lambda g: (_grad_for(value, ops.getitem(g, key), policy),),
                         "setitem")


def iadd(x: Tensor, y: Any, policy: DtypePolicy) -> Tensor:
    """x += y: as ``setitem`` (a leaf that requires grad raises); the gradient of y is g."""
    _writable(x)
    ops.iadd(x, y, policy)
    if isinstance(y, Tensor) and y.requires_grad:
        x.requires_grad = True
        x.grad_fn = Node((y,), lambda g: (_grad_for(y, g, policy),), "iadd")
    return x


# -- products ---------------------------------------------------------------------
def dot(x: Tensor, y: Tensor, policy: DtypePolicy) -> Tensor:
    """d<u, v> = u dv + v du."""
    return _tracked(ops.dot(x, y, policy), (x, y),
                    lambda g: (_grad_for(x, ops.mul(g, y, policy), policy),
                               _grad_for(y, ops.mul(g, x, policy), policy)), "dot")


def mv(a: Tensor, x: Tensor, policy: DtypePolicy) -> Tensor:
    """d Ax = A: the gradient to x is A^T g, to A the outer product g x^T."""
    def backward(g: Tensor) -> tuple[Grad, ...]:
        ga = gx = None
        if a.requires_grad:
            ga = ops.mm(ops.reshape(g, (g.numel, 1)), ops.reshape(x, (1, x.numel)), policy)
        if x.requires_grad:
            gx = ops.mv(ops.transpose(a), g, policy)
        return ga, gx

    return _tracked(ops.mv(a, x, policy), (a, x), backward, "mv")


def mm(a: Tensor, b: Tensor, policy: DtypePolicy) -> Tensor:
    def backward(g: Tensor) -> tuple[Grad, ...]:
        ga = ops.mm(g, ops.transpose(b), policy) if a.requires_grad else None
        gb = ops.mm(ops.transpose(a), g, policy) if b.requires_grad else None
        return ga, gb

    return _tracked(ops.mm(a, b, policy), (a, b), backward, "mm")


# -- state ------------------------------------------------------------------------
def requires_grad_(x: Tensor) -> Tensor:
    if not x.is_float:
        raise RuntimeError("only floating point tensors can require gradients")
    x.requires_grad = True
    return x


def detach(x: Tensor) -> Tensor:
    """The same values, no history: gradients do not flow through the result."""
    return Tensor(x.shape, x.dtype, list(x.values), x.bounds, x.unsure)


def zero_(x: Tensor) -> Tensor:
    x.values[:] = [type(v)(0) for v in x.values]
    x.bounds = None
    return x


def _order(root: Tensor) -> list[Tensor]:
    """Tensors of the graph below ``root``, each after every tensor that uses it."""
    seen: set[int] = set()
    post: list[Tensor] = []
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            post.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        if t.grad_fn is not None:
            for inp in t.grad_fn.inputs:
                if isinstance(inp, Tensor) and inp.requires_grad:
                    stack.append((inp, False))
    return list(reversed(post))


def backward(y: Tensor, policy: DtypePolicy,
             on_adjoint: Callable[[Tensor, Tensor], None] | None = None) -> None:
    """Accumulate dy/dx into x.grad for every leaf x that requires grad.

    ``on_adjoint(t, g)``, if given, sees every recorded operation's result ``t`` with its
    adjoint ``g = dy/dt`` (what an error in ``t`` does to ``y``, to first order)."""
    if y.numel != 1:
        raise RuntimeError("grad can be implicitly created only for one-element outputs")
    if not y.requires_grad:
        raise RuntimeError("the tensor does not require grad and has no grad_fn")
    grads: dict[int, Tensor] = {id(y): ops.full(y.shape, 1, y.dtype, policy)}
    for t in _order(y):
        g = grads.pop(id(t), None)
        if g is None:
            continue
        if on_adjoint is not None and t.grad_fn is not None:
            on_adjoint(t, g)
        if t.grad_fn is None:  # a leaf: accumulate
            if t.grad is None:
                t.grad = detach(g)
            else:  # in place, as PyTorch does: x.grad stays the same tensor
                total = ops.add(t.grad, g, policy)
                t.grad.values[:], t.grad.bounds = total.values, total.bounds
            continue
        for inp, gi in zip(t.grad_fn.inputs, t.grad_fn.backward(g), strict=True):
            if gi is None or not isinstance(inp, Tensor) or not inp.requires_grad:
                continue
            prev = grads.get(id(inp))
            grads[id(inp)] = gi if prev is None else ops.add(prev, gi, policy)

