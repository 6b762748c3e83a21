"""NumPy as a backend under test.

Each method is the NumPy spelling of one operation of the documentation's
PyTorch subset, called by its public name: ``x + y`` on arrays is the ``np.add``
ufunc and ``A.sum(axis=0)`` is ``np.sum`` (NumPy documents each ndarray method as
"refer to numpy.sum"), so the adapter calls ``np.add``, ``np.sum``, ... as NumPy
users write them.  Arguments the notes leave out are left out (``np.arange(12)``,
``np.sum(A)``): a default is part of the call under test.  Where NumPy's function
for a call has another name (``norm`` with an explicit ``p``: ``linalg.vector_norm``;
``mv``/``mm``: ``matmul``) a comment at the method says why; no method composes a
result.  NumPy has no autograd, so specs that need it are "not applicable" here
with the reason in ``missing``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np

from tensor_conformance.adapters.protocol import NOT_GIVEN, DtypeArg, DtypePolicy
from tensor_conformance.adapters.spelling import numpy_like, spelled


def _dtype_keyword(dtype: DtypeArg) -> dict[str, Any]:
    """``dtype=`` as the program wrote it (``dtype=None`` included); no keyword where it
    wrote none, so that the library's own default is what runs."""
    return {} if dtype is NOT_GIVEN else {"dtype": dtype}


def _reduction(axis: int | None, keepdims: bool) -> dict[str, Any]:
    """The notes' keywords: ``sum(A)``, ``sum(A, axis=0)``, ``sum(A, axis=1, keepdims=True)``."""
    return {**({} if axis is None else {"axis": axis}), **({"keepdims": True} if keepdims else {})}


class NumpyAdapter:
    name: ClassVar[str] = "numpy"
    capabilities: ClassVar[frozenset[str]] = frozenset({"in_place", "random"})
    missing: ClassVar[dict[str, str]] = {
        "autograd": "NumPy has no automatic differentiation",
        "compile": "NumPy runs operation by operation; it has no compiler for whole programs",
    }
    #: for reproducers: how this backend spells the notes' ``torch.`` namespace
    namespace: ClassVar[str] = "np"
    imports: ClassVar[str] = "import numpy as np"
    #: for reproducers: the notes' spelling -> NumPy's (applied in order, then torch. -> np.)
    spelling: ClassVar[dict[str, str]] = {
        "torch.cat": "np.concatenate", "torch.mv": "np.matmul", "torch.mm": "np.matmul",
        "torch.tensor": "np.array", "torch.norm": "np.linalg.norm", "torch.bool": "np.bool_",
        ".numel()": ".size", "keepdim=": "keepdims=", "(dim=": "(axis=", " dim=": " axis=",
    }

    def translate(self, code: str) -> str:
        """For reproducers: the calls a text substitution cannot spell (methods the arrays
        lack, ``p=`` norms, sizes as arguments: spelling.py), then
        ``spelling`` and the namespace."""
        return spelled(self, numpy_like(code))

    def __init__(self) -> None:
        # measured with numpy 2.4: sum and cumsum of bool/int8/int16/int32/int64 -> int64
        self.policy = DtypePolicy(
            default_int="int64", default_float="float64", int_float_promotion="widest",
            int_accumulator="at_least_default",
        )

    def versions(self) -> dict[str, str]:
        return {"numpy": np.__version__}

    @contextlib.contextmanager
    def context(self) -> Iterator[None]:
        """IEEE results are values, not warnings: x / 0 is inf, 0 / 0 nan, as in PyTorch
        and JAX, which do not warn; NumPy's floating-point warnings are silenced here: they
        would only repeat what the values say (and under ``-W error`` would replace a
        value with an exception)."""
        with np.errstate(all="ignore"):
            yield

    # -- crossing the boundary -------------------------------------------
    def from_host(self, array: Any) -> np.ndarray:
        return np.array(array, copy=True)

    def to_host(self, value: Any) -> Any:
        return np.asarray(value)

    def is_tensor(self, value: Any) -> bool:
        return isinstance(value, np.ndarray | np.generic)

    def to_bool(self, value: Any) -> bool:
        return bool(value)

    # -- creation ----------------------------------------------------------
    def tensor(self, data: Any, dtype: DtypeArg) -> np.ndarray:
        return np.array(data, **_dtype_keyword(dtype))

    def arange(self, end: int | float, dtype: DtypeArg) -> np.ndarray:
        return np.arange(end, **_dtype_keyword(dtype))

    def zeros(self, shape: tuple[int, ...], dtype: DtypeArg) -> np.ndarray:
        return np.zeros(shape, **_dtype_keyword(dtype))

    def ones(self, shape: tuple[int, ...], dtype: DtypeArg) -> np.ndarray:
        return np.ones(shape, **_dtype_keyword(dtype))

    def zeros_like(self, x: np.ndarray) -> np.ndarray:
        return np.zeros_like(x)

    def randn(self, shape: tuple[int, ...], seed: int) -> np.ndarray:
        # torch.randn(3, 4) is NumPy's standard_normal((3, 4)), from a seeded Generator
        return np.random.default_rng(seed).standard_normal(shape)

    # -- shape -------------------------------------------------------------
    def shape(self, x: np.ndarray) -> tuple[int, ...]:
        return tuple(x.shape)

    def numel(self, x: np.ndarray) -> int:
        return int(x.size)

    def length(self, x: np.ndarray) -> int:
        return len(x)

    def reshape(self, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return x.reshape(shape)

    def transpose(self, x: np.ndarray) -> np.ndarray:
        return x.T

    def cat(self, tensors: Sequence[np.ndarray], axis: int) -> np.ndarray:
        return np.concatenate(tensors, axis=axis)

    # -- elementwise -------------------------------------------------------
    def add(self, x: Any, y: Any) -> Any:
        return np.add(x, y)

    def sub(self, x: Any, y: Any) -> Any:
        return np.subtract(x, y)

    def mul(self, x: Any, y: Any) -> Any:
        return np.multiply(x, y)

    def div(self, x: Any, y: Any) -> Any:
        return np.true_divide(x, y)

    def pow(self, x: Any, y: Any) -> Any:
        return np.power(x, y)

    def eq(self, x: Any, y: Any) -> Any:
        return np.equal(x, y)

    def lt(self, x: Any, y: Any) -> Any:
        return np.less(x, y)

    def gt(self, x: Any, y: Any) -> Any:
        return np.greater(x, y)

    def neg(self, x: Any) -> Any:
        return np.negative(x)

    def exp(self, x: Any) -> Any:
        return np.exp(x)

    def abs(self, x: Any) -> Any:
        return np.abs(x)

    # -- reductions --------------------------------------------------------
    def sum(self, x: np.ndarray, axis: int | None, keepdims: bool) -> Any:
        return np.sum(x, **_reduction(axis, keepdims))

    def mean(self, x: np.ndarray, axis: int | None, keepdims: bool) -> Any:
        return np.mean(x, **_reduction(axis, keepdims))

    def cumsum(self, x: np.ndarray, axis: int) -> np.ndarray:
        return np.cumsum(x, axis=axis)

    def norm(self, x: np.ndarray, p: float) -> Any:
        if p == 2:
            # the notes' torch.norm(u) / torch.norm(X): np.linalg.norm on the array as
            # given (for a matrix its Frobenius path; for any rank, with no ord, NumPy's
            # own sqrt of the sum of squares of all entries)
            return np.linalg.norm(x)
        # another function than the notes' norm: torch.norm(X, p=p) is the L_p norm of
        # all entries, while linalg.norm(X, ord=p) of a matrix is an induced matrix norm
        # (ord=1: the largest column sum) and refuses other ranks; NumPy's own call for
        # the entrywise norm is linalg.vector_norm over all axes
        return np.linalg.vector_norm(x, ord=p)

    # -- products ----------------------------------------------------------
    def dot(self, x: np.ndarray, y: np.ndarray) -> Any:
        return np.dot(x, y)

    def mv(self, a: np.ndarray, x: np.ndarray) -> np.ndarray:
        # NumPy has no mv: matmul (the @ operator) of a matrix and a vector is its spelling
        return np.matmul(a, x)

    def mm(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # NumPy has no mm: matmul (the @ operator) of two matrices is its spelling
        return np.matmul(a, b)

    # -- indexing and memory -------------------------------------------------
    def getitem(self, x: np.ndarray, key: Any) -> Any:
        return x[key]

    def setitem(self, x: np.ndarray, key: Any, value: Any) -> None:
        x[key] = value

    def iadd(self, x: np.ndarray, y: Any) -> np.ndarray:
        x += y
        return x
