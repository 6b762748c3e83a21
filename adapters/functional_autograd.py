"""PyTorch's stateful autograd over a library whose autograd is a function (JAX).

The notes' autograd code is stateful: ``x.requires_grad_(True)``, ``y.backward()``,
``x.grad`` accumulating until ``x.grad.zero_()``, ``u = y.detach()``.  A functional
library has ``grad(f)`` and ``stop_gradient(x)`` instead.  This module bridges the
two so the *same specs* run on such a library.  The suite tests the library, so
every step the library can do is done by the library, and the rest, which only
exists in the stateful style, is emulated here and said so in each cell's report:

* ``x.requires_grad_(True)`` -- library: x is handed to the library's ``grad`` at
  once (with a function that does not use it, so nothing is computed), and the
  library's own input check decides (JAX refuses a non-float x with a TypeError).
  Bridge: x becomes a *leaf*, a ``Traced`` value that can recompute itself.
* every differentiable operation on a ``Traced`` value is the library's own
  operation (the core adapter's method), recorded so that it can be replayed from
  the leaves (only operations actually run are recorded, so Python ``if``/``while``
  need nothing special).
* ``y.backward()`` -- library: the library's ``grad`` of y's recorded computation,
  with respect to every leaf, at the leaves' values; the library refuses a
  non-scalar y itself.  Bridge: a one-element y of another shape, e.g. (1,), is
  reshaped to () first (PyTorch's implicit gradient of one-element outputs; JAX's
  grad takes shape () only), and a y that records no leaf, or only detached ones,
  raises as PyTorch does (the library has no notion of "requires grad").
* ``x.grad`` -- bridge: None until a backward pass reaches x, then the sum of the
  library's ``grad`` results (accumulation), added with the library's ``add``.
* ``y.detach()`` -- library: the library's ``stop_gradient``, applied inside the
  recorded computation, so that the library's ``grad`` is what ignores y's history.
* ``x.grad.zero_()`` -- bridge: the library's arrays are immutable, so the leaf's
  gradient is replaced by the library's ``zeros_like``.

The core adapter provides the two transformations as methods that call the
library when they run (so a fault in the library is what the suite sees):
``differentiate(fn, argnums, *args)`` (JAX: ``jax.grad(fn, argnums)(*args)``) and
``stop_gradient(x)`` (JAX: ``jax.lax.stop_gradient(x)``).

``with_functional_autograd(Core, library=, grad=, stop_gradient=)`` returns ``Core``
extended this way; ``explain_functional("autograd", operations)`` says, for one
cell's operations, which steps the library did and which the bridge emulated.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tensor_conformance.adapters.functional_reproducer import functional_program

#: operations through which gradients flow (their positional tensor arguments)
DIFFERENTIABLE = ("add", "sub", "mul", "div", "pow", "neg", "exp", "abs", "sum", "mean", "norm",
                  "dot", "mv", "mm", "reshape", "transpose", "getitem", "cumsum", "cat")
#: operations that only read values
READ_ONLY = ("eq", "lt", "gt", "shape", "numel", "length", "to_host", "to_bool", "zeros_like")

#: per autograd operation of a program (tensor_conformance.program.NEEDS), what the library
#: does and what the bridge emulates; {library}, {grad}, {stop_gradient} are filled in
STEPS: dict[str, dict[str, str]] = {
    "requires_grad_": {
        "library": "x.requires_grad_(True) hands x to {grad}, whose own input check "
                   "refuses non-float tensors",
        "bridge": "x becomes a leaf whose later operations are recorded for {grad}",
    },
    "backward": {
        "library": "y.backward() is {grad} of y's recorded {library} operations with "
                   "respect to the leaves ({grad} refuses a non-scalar y itself)",
        "bridge": "a one-element y of another shape, e.g. (1,), is reshaped to () for "
                  "{grad}; backward() of a y with no leaf (or only detached ones) raises, "
                  "as PyTorch does",
    },
    "grad": {
        "bridge": "x.grad is None until a backward() reaches x, then the sum of the {grad} "
                  "results (accumulation)",
    },
    "detach": {
        "library": "y.detach() is {stop_gradient}(y) inside the computation {grad} "
                   "differentiates",
    },
    "zero_": {
        "bridge": "x.grad.zero_() replaces the leaf's immutable gradient with zeros",
    },
}
STEPS["requires_grad"] = STEPS["requires_grad_"]  # torch.arange(4.0, requires_grad=True)

_ids = itertools.count()


@dataclass(eq=False)
class Leaf:
    """A tensor that requires grad: its value and its accumulated gradient."""

    value: Any
    grad: Any = None
    key: int = field(default_factory=lambda: next(_ids))


#: live leaves, so that ``zero_(x.grad)`` can find whose gradient it is
_LEAVES: weakref.WeakSet[Leaf] = weakref.WeakSet()


@dataclass(eq=False)
class Traced:
    """A value together with the recipe that recomputes it from its leaves."""

    value: Any
    recipe: Callable[[dict[Any, Any]], Any]
    leaves: dict[int, Leaf]
    leaf: Leaf | None = None  # set on the leaf itself
    #: False for a detached value and what is computed from detached values only
    requires_grad: bool = True

    def replay(self, env: dict[Any, Any]) -> Any:
        """The value recomputed from the leaves' values in ``env``, once per ``env``.

        A value the program uses twice (``r * r``) must be one value of the library's
        computation, as it is in the user's code: recomputing it per use would hand the
        library's grad a tree of copies instead of the program's graph, and its backward
        would then run once per copy (a different computation, with intermediates the
        user's program never forms)."""
        key = ("traced", id(self))
        if key not in env:
            env[key] = self.recipe(env)
        return env[key]


def _plain(x: Any) -> Any:
    if isinstance(x, Traced):
        return x.value
    if isinstance(x, tuple | list):
        return type(x)(_plain(v) for v in x)
    return x


def _traced_parts(args: tuple[Any, ...]) -> list[Traced]:
    out: list[Traced] = []
    for a in args:
        if isinstance(a, Traced):
            out.append(a)
        elif isinstance(a, tuple | list):
            out += _traced_parts(tuple(a))
    return out


def _replay(x: Any, env: dict[Any, Any]) -> Any:
    if isinstance(x, Traced):
        return x.replay(env)
    if isinstance(x, tuple | list):
        return type(x)(_replay(v, env) for v in x)
    return x


def _ignores_its_input(_: Any) -> float:
    return 0.0


def with_functional_autograd(core: Any, *, library: str, grad: str, stop_gradient: str) -> Any:
    """``core`` with the Autograd protocol implemented over its ``differentiate`` and
    ``stop_gradient`` methods; ``library``, ``grad`` and ``stop_gradient`` name the
    library and its two transformations in the report."""
    names = {"library": library, "grad": grad, "stop_gradient": stop_gradient}

    def differentiable(name: str) -> Callable[..., Any]:
        op = getattr(core, name)

        def method(self: Any, *args: Any) -> Any:
            traced = _traced_parts(args)
            value = op(self, *_plain(args))
            if not traced:
                return value
            leaves: dict[int, Leaf] = {}
            for t in traced:
                leaves.update(t.leaves)
            return Traced(value, lambda env: op(self, *_replay(args, env)), leaves,
                          requires_grad=any(t.requires_grad for t in traced))

        method.__name__ = name
        method.__doc__ = op.__doc__
        return method

    def read_only(name: str) -> Callable[..., Any]:
        op = getattr(core, name)

        def method(self: Any, *args: Any) -> Any:
            return op(self, *_plain(args))

        method.__name__ = name
        return method

    def is_tensor(self: Any, value: Any) -> bool:
        return isinstance(value, Traced) or core.is_tensor(self, value)

    def requires_grad_(self: Any, x: Any) -> Any:
        if isinstance(x, Traced) and x.requires_grad:
            return x  # already a leaf, or computed from one: PyTorch changes nothing
        # the library decides whether x can be differentiated: its grad checks its
        # inputs before anything else (a function that ignores x computes nothing)
        core.differentiate(self, _ignores_its_input, (0,), _plain(x))
        leaf = Leaf(_plain(x))
        _LEAVES.add(leaf)
        return Traced(leaf.value, lambda env: env[leaf.key], {leaf.key: leaf}, leaf)

    def grad_of(self: Any, x: Any) -> Any:
        return x.leaf.grad if isinstance(x, Traced) and x.leaf is not None else None

    def backward(self: Any, y: Any) -> None:
        if not isinstance(y, Traced) or not y.requires_grad:
            # PyTorch's rule; the library has no notion of a value that requires grad
            raise RuntimeError("element 0 of tensors does not require grad and does not "
                               "have a grad_fn")
        leaves = list(y.leaves.values())
        # PyTorch differentiates any one-element y; the library's grad wants shape ()
        one_element = core.numel(self, y.value) == 1

        def f(*values: Any) -> Any:
            out = y.replay({lf.key: v for lf, v in zip(leaves, values, strict=True)})
            return core.reshape(self, out, ()) if one_element else out

        grads = core.differentiate(self, f, tuple(range(len(leaves))),
                                   *(lf.value for lf in leaves))
        for leaf, g in zip(leaves, grads, strict=True):
            leaf.grad = g if leaf.grad is None else core.add(self, leaf.grad, g)

    def detach(self: Any, x: Any) -> Any:
        """``x.detach()``: the library's stop_gradient, recorded, so that the library's
        grad is what stops the gradient when the computation is differentiated."""
        value = core.stop_gradient(self, _plain(x))
        if not isinstance(x, Traced):
            return value
        return Traced(value, lambda env: core.stop_gradient(self, x.replay(env)), x.leaves,
                      requires_grad=False)

    def zero_(self: Any, g: Any) -> Any:
        """``x.grad.zero_()``: the library's arrays are immutable, so the leaf whose
        gradient ``g`` is gets a zero gradient instead."""
        zeros = core.zeros_like(self, _plain(g))
        for leaf in list(_LEAVES):
            if leaf.grad is g:
                leaf.grad = zeros
        return zeros

    def explain_functional(self: Any, capability: str, operations: Iterable[str]) -> str | None:
        """For one cell's autograd operations: the steps the library did, the steps
        this bridge emulated."""
        if capability != "autograd":
            return None
        used = set(operations)
        steps = [step for op, step in STEPS.items() if op in used]
        done = {who: list(dict.fromkeys(s[who].format(**names) for s in steps if who in s))
                for who in ("library", "bridge")}
        parts = [f"autograd through {grad}"]
        if done["library"]:
            parts.append(f"Done by {library} itself: " + "; ".join(done["library"]))
        if done["bridge"]:
            parts.append("Emulated by the bridge (adapters/functional_autograd.py): "
                         + "; ".join(done["bridge"]))
        return ". ".join(parts)

    def translate_program(self: Any, source: str) -> str:
        """For reproducers: the program's autograd as calls of the library's own grad
        (functional_reproducer.py), since the bridge is not there when pasted."""
        return functional_program(source, grad, stop_gradient)

    def stage(self: Any, program: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
        """The core's compiler, handed the library's own arrays."""
        return core.stage(self, lambda *arrays: [_plain(v) for v in program(*arrays)])

    reason = (f"checked through {grad}: backward() is {grad} of the recorded computation and "
              f"adds its result to .grad (accumulation = sum of {grad} results, emulated); "
              f"detach() is {stop_gradient}; requires_grad_ asks {grad} to accept the input; "
              "grad.zero_() replaces the immutable gradient with zeros (emulated)")
    namespace: dict[str, Any] = {name: differentiable(name) for name in DIFFERENTIABLE}
    if hasattr(core, "stage"):
        namespace["stage"] = stage
    namespace |= {name: read_only(name) for name in READ_ONLY}
    namespace |= {
        "is_tensor": is_tensor, "requires_grad_": requires_grad_, "grad": grad_of,
        "backward": backward, "detach": detach, "zero_": zero_,
        "explain_functional": explain_functional, "translate_program": translate_program,
        "capabilities": core.capabilities | {"autograd"},
        "missing": {k: v for k, v in core.missing.items() if k != "autograd"},
        "functional": {**getattr(core, "functional", {}), "autograd": reason},
        "__doc__": f"{core.__doc__ or core.__name__}\n\nAutograd through a functional equivalent: {reason}",
    }
    return type(core.__name__, (core,), namespace)
