"""The adapter protocol: what a backend implements so that every spec can run on it.

A spec's program is written in the PyTorch subset that the documentation uses
(``torch.arange(12)``, ``A.sum(axis=0)``, ``X[1, 2] = 9``).  The interpreter in
``tensor_conformance.program`` turns every operation of that subset into one call of an
adapter method below, always with the same canonical arguments, so an adapter is a
thin translation table from those names to its library.

Values cross the boundary in two directions only:

* inputs drawn by hypothesis arrive as NumPy arrays (``from_host``) or as Python
  literals (``tensor``);
* outputs leave through ``to_host``, which returns a NumPy array (or a Python
  scalar / tuple) that the comparison reads.

NumPy is the interchange format because every array library converts to and
from it; no *computation* of the reference happens in NumPy.

Capabilities are declared data: a spec that ``requires: [in_place]`` is
"not applicable" on an adapter that does not list ``in_place``, with the
adapter's reason, before anything runs.

The rule for every method: call the library's own function for the notes' call
-------------------------------------------------------------------------------
The suite tests the library, not the adapter.  Each method maps its canonical
arguments to the library's own spelling of the notes' call, as that library's
users would write it, and returns what the library returns: the notes'
``torch.norm(X)`` of a matrix is ``torch.norm(X)`` / ``np.linalg.norm(X)`` /
``jnp.linalg.norm(X)`` *on the matrix* (never the norm of a flattened copy, which
would skip the library's matrix path); ``X.T`` is the library's transpose;
``A.sum(axis=0)`` its sum; ``y.detach()`` its ``detach`` or ``stop_gradient``.

* Leave out what the notes leave out: ``torch.arange(12)`` is ``arange(12)``, not
  ``arange(12, dtype=None)`` (the method gets ``dtype=NOT_GIVEN``); ``A.sum()`` is
  ``sum(A)``, not ``sum(A, axis=None, keepdims=False)``.  A library's default is part
  of the call under test.  And pass on what the program writes: a spec's
  ``torch.zeros(3, dtype=None)`` gets ``dtype=None``, which the adapter passes on as
  ``zeros(3, dtype=None)`` (the explicit None is a code path of its own).
* Look the library's functions up when the method runs (``np.linalg.norm(x)``,
  not a reference kept from import time), so that whatever the library is at run
  time is what the suite sees.
* Never re-derive a result the library computes (no ``sqrt(sum(x * x))`` for a
  norm, no own gradient bookkeeping where the library has a transformation).
* Where the library's function for the call has another name, or the library has
  no single call and the adapter must compose one, say so in a comment at the
  method and keep to the library's own functions.  The built-in adapters:

  - NumPy, JAX ``norm(x, p)`` with ``p != 2`` (another name): ``torch.norm(X, p=p)``
    is the L_p norm of all entries, while ``linalg.norm(X, ord=p)`` of a matrix is
    an induced matrix norm (ord=1: the largest column sum) and refuses other
    ranks; the adapters call ``linalg.vector_norm(X, ord=p)`` (all axes), the
    library's own entrywise norm.  ``p == 2`` is ``linalg.norm(X)`` as given.
  - NumPy, JAX ``mv`` / ``mm`` (another name): no such functions; ``matmul`` (the
    ``@`` operator) is the library's spelling.
  - JAX autograd (composed, adapters/functional_autograd.py): PyTorch's stateful
    autograd over ``jax.grad`` and ``jax.lax.stop_gradient``.  What only exists in
    the stateful style is emulated there (``.grad`` and its accumulation,
    ``grad.zero_()``, leaves, the reshape of a one-element output to shape ()),
    everything else is asked of JAX (differentiation, stop-gradient, which inputs
    can be differentiated, which outputs have an implicit gradient), and each
    "functional" cell's reason says which was which (``explain_functional``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, Final, Protocol, runtime_checkable

Tensor = Any  # the backend's own array type
Key = Any  # an index: int, slice, Ellipsis, None or a tuple of those


class NotGiven(Enum):
    """The program wrote no ``dtype=`` (``torch.zeros(3)``): call the library without one."""

    NOT_GIVEN = "not given"


NOT_GIVEN: Final = NotGiven.NOT_GIVEN
#: the ``dtype`` of the creation methods, as the program wrote it: a dtype name
#: (``"float32"``); ``None`` where it wrote ``dtype=None`` (pass ``dtype=None`` on: a
#: library's explicit None is its own code path, and must give its default); or
#: ``NOT_GIVEN`` where it wrote no ``dtype=`` (pass no ``dtype`` keyword at all)
DtypeArg = str | None | NotGiven


#: Every capability a spec may require.  An adapter lists the ones it has.
CAPABILITIES: dict[str, str] = {
    "in_place": "arrays are mutable: X[i] = v, X[:] = e and X += Y write into the same object",
    "autograd": "stateful reverse-mode autograd: requires_grad_, .grad, backward(), detach()",
    "random": "a seeded standard-normal sampler (randn)",
    "compile": "runs a whole program as one compiled function: stage(fn) (JAX: jax.jit)",
}


@dataclass(frozen=True)
class DtypePolicy:
    """The dtypes a backend picks when the program does not name one.

    The documentation shows PyTorch: integer literals and ``arange`` give
    ``int64``, float literals and ``zeros``/``ones`` give ``float32``.  Other
    libraries choose differently on purpose (NumPy: float64; JAX without x64:
    int32 and float32, and 64-bit requests are narrowed to 32 bits).  The
    reference computes every result dtype *under the backend's declared
    policy*, so a real promotion bug still fails, while a documented default
    is checked once, by the ``defaults`` specs, and shows up there as a
    registered divergence instead of drowning every other report line.

    A library may have a default int narrower than the widest one it holds (a
    default of int32 with int64 available): ``max_bits`` and ``int_accumulator`` say
    what it does with the wider dtype.
    """

    default_int: str = "int64"
    default_float: str = "float32"
    #: the widest dtype the backend can hold; wider requests are narrowed
    max_bits: int = 64
    #: "float_operand": int array op float32 array -> float32 (PyTorch, JAX);
    #: "widest": -> a float wide enough for both (NumPy: float64)
    int_float_promotion: str = "float_operand"
    #: the dtype sum() and cumsum() of bool and integer tensors accumulate in.
    #: "at_least_default": the wider of the input's dtype and default_int, so a wider
    #: integer is never narrowed (measured: PyTorch and NumPy sum and cumsum, JAX's sum,
    #: x64 or not: bool, int8, int16, int32 -> default int, int64 stays int64);
    #: "default": always default_int, narrowing wider integers.
    #: (dot, mv and mm keep their operands' promoted dtype in every library measured.)
    int_accumulator: str = "at_least_default"


DOCUMENTED_POLICY = DtypePolicy()


class NotApplicable(Exception):
    """Raised by an adapter for an operation its library lacks as a concept."""


class NotStageable(Exception):
    """Raised by a compiled program (``stage``) for inputs it must not compile: the
    engine runs that example operation by operation instead."""


#: what every adapter must have to be loaded at all; each other method of ``Adapter``
#: may be left out, and the cells whose code calls it are "not applicable" with a reason
#: naming the method (conformance/requirements.py; ``python -m tensor_conformance.claims
#: --backend NAME`` lists them before anything runs)
REQUIRED: tuple[str, ...] = ("name", "capabilities", "missing", "policy", "versions",
                             "from_host", "to_host", "is_tensor", "to_bool")


@runtime_checkable
class Adapter(Protocol):
    """One backend: every operation of the notes' code.  A complete example in about 200
    lines: ``adapters/numpy_backend.py``.  Optional attributes and hooks are listed, typed,
    in ``Hooks`` below; the autograd methods in ``Autograd``."""

    #: short name used in node ids, reports and the divergence registry, e.g. "numpy"
    name: ClassVar[str]
    #: capabilities this backend has (keys of ``CAPABILITIES``)
    capabilities: ClassVar[frozenset[str]]
    #: why each missing capability is missing, shown in "not applicable" cells; also why
    #: each method left out because the library has no such function is missing, keyed
    #: by the method's name (tinygrad: ``"norm"``), shown in the cells that call it
    missing: ClassVar[dict[str, str]]
    #: the dtypes the library picks when the program names none (see ``DtypePolicy``)
    policy: DtypePolicy

    def versions(self) -> dict[str, str]:
        """Library name -> version, for the report header."""

    # -- crossing the boundary -------------------------------------------
    def from_host(self, array: Any) -> Tensor:
        """A backend tensor holding a NumPy array's values, same dtype (or narrowed per policy)."""

    def to_host(self, value: Tensor) -> Any:
        """A NumPy array with the tensor's values, dtype and shape."""

    def is_tensor(self, value: Any) -> bool: ...

    def to_bool(self, value: Tensor) -> bool:
        """``bool(x)`` of a one-element tensor (``if`` / ``while`` on tensor values)."""

    # -- creation ----------------------------------------------------------
    def tensor(self, data: Any, dtype: DtypeArg) -> Tensor: ...
    def arange(self, end: int | float, dtype: DtypeArg) -> Tensor: ...
    def zeros(self, shape: tuple[int, ...], dtype: DtypeArg) -> Tensor: ...
    def ones(self, shape: tuple[int, ...], dtype: DtypeArg) -> Tensor: ...
    def zeros_like(self, x: Tensor) -> Tensor: ...
    def randn(self, shape: tuple[int, ...], seed: int) -> Tensor: ...

    # -- shape -------------------------------------------------------------
    def shape(self, x: Tensor) -> tuple[int, ...]: ...
    def numel(self, x: Tensor) -> int: ...
    def length(self, x: Tensor) -> int:
        """``len(x)``."""

    def reshape(self, x: Tensor, shape: tuple[int, ...]) -> Tensor: ...
    def transpose(self, x: Tensor) -> Tensor:
        """``x.T`` of a matrix."""

    def cat(self, tensors: Sequence[Tensor], axis: int) -> Tensor: ...

    # -- elementwise (either operand may be a Python scalar) -----------------
    def add(self, x: Any, y: Any) -> Tensor: ...
    def sub(self, x: Any, y: Any) -> Tensor: ...
    def mul(self, x: Any, y: Any) -> Tensor: ...
    def div(self, x: Any, y: Any) -> Tensor: ...
    def pow(self, x: Any, y: Any) -> Tensor: ...
    def eq(self, x: Any, y: Any) -> Tensor: ...
    def lt(self, x: Any, y: Any) -> Tensor: ...
    def gt(self, x: Any, y: Any) -> Tensor: ...
    def neg(self, x: Tensor) -> Tensor: ...
    def exp(self, x: Tensor) -> Tensor: ...
    def abs(self, x: Tensor) -> Tensor: ...

    # -- reductions ----------------------------------------------------------
    def sum(self, x: Tensor, axis: int | None, keepdims: bool) -> Tensor: ...
    def mean(self, x: Tensor, axis: int | None, keepdims: bool) -> Tensor: ...
    def cumsum(self, x: Tensor, axis: int) -> Tensor: ...
    def norm(self, x: Tensor, p: float) -> Tensor:
        """L_p norm of all entries (Frobenius for p=2 on a matrix): the library's norm of
        ``x`` as given (``torch.norm(x)``, ``np.linalg.norm(x)`` for p=2), not of a
        flattened copy."""

    # -- products ------------------------------------------------------------
    def dot(self, x: Tensor, y: Tensor) -> Tensor: ...
    def mv(self, a: Tensor, x: Tensor) -> Tensor: ...
    def mm(self, a: Tensor, b: Tensor) -> Tensor: ...

    # -- indexing and memory -------------------------------------------------
    def getitem(self, x: Tensor, key: Key) -> Tensor: ...
    def setitem(self, x: Tensor, key: Key, value: Any) -> None:
        """``x[key] = value`` in place (capability ``in_place``)."""

    def iadd(self, x: Tensor, y: Any) -> Tensor:
        """``x += y``: return what the library's ``+=`` leaves bound to ``x``."""



@runtime_checkable
class Autograd(Protocol):
    """The extra methods of an adapter that declares the ``autograd`` capability: the
    notes' stateful style, PyTorch's explicit marking.  A library of another design fits:

    * implicit tracking (every float tensor tracked, no ``requires_grad_`` of its own, as
      in tinygrad): ``requires_grad_`` returns the library's tracked leaf (``x`` itself, or
      ``x`` after the library's own marking); ``grad``/``backward`` are its own;
    * functional autograd (``grad(f)``: JAX, HIPS autograd): adapters/functional_autograd.py
      builds these methods over the core adapter's ``differentiate`` and ``stop_gradient``.
    """

    def requires_grad_(self, x: Tensor) -> Tensor:
        """Turn on gradient tracking for a leaf tensor; return the tracked tensor.  The
        interpreter rebinds the name to what this returns (after ``x.requires_grad_(True)``
        ``x`` names the result; PyTorch returns ``x`` itself), so a library may return a new
        tracked value."""

    def grad(self, x: Tensor) -> Tensor | None:
        """``x.grad``: None until a backward pass reached ``x``."""

    def backward(self, y: Tensor) -> None:
        """``y.backward()`` of a one-element tensor; gradients accumulate."""

    def detach(self, x: Tensor) -> Tensor: ...
    def zero_(self, x: Tensor) -> Tensor:
        """``x.zero_()`` in place (the notes use it as ``x.grad.zero_()``)."""


class Hooks(Protocol):
    """Every optional attribute and hook of an adapter, with its type.  The engine looks
    each one up with ``getattr`` and does without it where it is absent."""

    # -- reproducers (conformance/reproducer.py) -----------------------------------------
    #: how the library spells the notes' ``torch.`` in a reproducer, e.g. "np" (default "torch")
    namespace: ClassVar[str]
    #: the reproducer's import line, e.g. "import numpy as np" (default "import torch")
    imports: ClassVar[str]
    #: the notes' spelling -> the library's, replaced in order in each reproducer line, then
    #: ``torch.`` -> ``namespace.``: e.g. ``{"torch.mv": "np.matmul", ".numel()": ".size"}``
    spelling: ClassVar[dict[str, str]]

    def literal(self, array: Any) -> str:
        """The source text that makes this NumPy array (an input of the minimal example) in
        the library, for a library that is not NumPy-like (default:
        ``{namespace}.asarray([...], dtype={namespace}.float32)``; a class-based API writes
        ``Tensor([...], dtype=dtypes.float32)``)."""

    def translate(self, code: str) -> str:
        """One statement of the notes' code (``y.backward()``, ``A.sum(axis=0)``) in the
        library's own spelling; may return several lines (a functional library spells
        ``y.backward()`` with its ``grad``).  Default: ``spelling``, then ``namespace``."""

    # -- running ---------------------------------------------------------------------------
    def context(self) -> contextlib.AbstractContextManager[Any]:
        """Entered around every program run (NumPy: ``np.errstate(all="ignore")``, so that
        IEEE results such as ``1 / 0`` are values, not warnings)."""

    def after_cell(self) -> None:
        """Called after each (spec item, backend) cell, to free per-cell resources (JAX
        drops its in-memory compilations).  If it raises, that cell fails, naming it."""

    def stage(self, fn: Callable[..., list[Tensor]]) -> Callable[..., list[Tensor]]:
        """With capability ``compile``: ``fn(seed, *tensors)`` returns a list of tensors;
        return it compiled as one function (JAX: ``jax.jit(fn)``).  The engine then runs
        case programs compiled, and op by op where that cannot match the notes' eager
        semantics (conformance/staging.py); raise ``NotStageable`` for inputs that must
        not be compiled.  Cases with ``compiled: true`` only ever run compiled."""

    def jvp(self, fn: Callable[..., Tensor], primals: Sequence[Tensor],
            tangents: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        """Forward mode (``torch.func.jvp``, ``jax.jvp``): ``(fn(*primals), tangent_out)``.
        Where present, gradients from ``backward()`` are checked against it
        (conformance/gradients.py)."""

    # -- capabilities through a functional equivalent ------------------------------------
    #: capability -> how it is provided through the library's functional equivalent (JAX:
    #: autograd through ``jax.grad``); passing cells that need it report ``functional``
    functional: ClassVar[dict[str, str]]

    def explain_functional(self, capability: str, operations: frozenset[str]) -> str | None:
        """For one cell's operations (``tensor_conformance.program.NEEDS`` keys, e.g.
        ``{"backward", "detach"}``), which steps the library did and which the adapter
        emulated; the cell's reason says so (adapters/functional_autograd.py provides it)."""

    # -- what adapters/functional_autograd.py asks of the core adapter ---------------------
    def differentiate(self, fn: Callable[..., Tensor], argnums: tuple[int, ...],
                      *args: Tensor) -> tuple[Tensor, ...]:
        """The library's ``grad``: gradients of the scalar ``fn(*args)`` with respect to
        the arguments at ``argnums`` (JAX: ``jax.grad(fn, argnums=argnums)(*args)``)."""

    def stop_gradient(self, x: Tensor) -> Tensor:
        """The library's ``stop_gradient`` (``y.detach()``)."""


@dataclass
class AdapterInfo:
    """What the report says about one selected backend."""

    name: str
    available: bool
    reason: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    capabilities: list[str] = field(default_factory=list)
    policy: dict[str, Any] = field(default_factory=dict)
