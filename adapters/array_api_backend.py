"""Any Python Array API namespace as a backend: ``--backend array-api:MODULE``.

``MODULE`` is imported and used as ``xp``, the namespace of the Array API standard
(https://data-apis.org/array-api/latest/): numpy (2.x), array_api_strict, jax.numpy,
cupy, ...  Every method is the standard's own spelling of the notes' call, so a
library that implements the standard needs no code of its own:

* ``torch.tensor(data)`` is ``xp.asarray(data)``; ``arange``/``zeros``/``ones``/
  ``zeros_like``/``reshape``/``exp``/``abs``/``sum``/``mean`` keep their names;
* ``torch.cat`` is ``xp.concat``; ``cumsum`` is ``xp.cumulative_sum``; ``torch.dot`` of
  two vectors is ``xp.vecdot``; ``mv``/``mm`` are ``xp.matmul``;
* ``torch.norm(X)`` of a matrix is ``xp.linalg.matrix_norm(X)`` (Frobenius, the
  standard's matrix path); every other norm (a vector, another rank, an explicit ``p``:
  the L_p norm of all entries) is ``xp.linalg.vector_norm(X, ord=p)`` over all axes;
* operators (``x + y``, ``x ** y``, ``x == y``, ``-x``, ``x[key]``) are the standard's
  array-object operators, which also take a Python scalar on either side;
* ``len(x)`` is ``x.shape[0]`` (the standard's arrays need not define ``__len__``),
  ``x.numel()`` is ``x.size``, ``X.T`` is ``X.T``.

Capabilities follow what the standard guarantees, not what one library adds: it
leaves whether arrays are mutable and whether views share memory to each library
(no ``in_place``), and has no autograd, no random numbers and no compiler; cells that
need them are "not applicable" with that reason.  The dtype policy is read from the
namespace's own inspection API (``__array_namespace_info__().default_dtypes()``) and,
for mixed integer/float operands, which the standard leaves unspecified, from what the
library does.  Inputs cross through ``xp.asarray`` and, back to NumPy, through DLPack
(``np.from_dlpack``), the standard's interchange protocol.
"""

from __future__ import annotations

import ast
import importlib
import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from tensor_conformance.adapters.protocol import NOT_GIVEN, DtypeArg, DtypePolicy

#: the notes' spelling -> the standard's, for reproducers (then torch. -> xp.)
SPELLING = {
    "torch.tensor": "xp.asarray", "torch.cat": "xp.concat", "torch.mv": "xp.matmul",
    "torch.mm": "xp.matmul", "torch.dot": "xp.vecdot", "torch.cumsum": "xp.cumulative_sum",
    "torch.norm": "xp.linalg.vector_norm", "torch.long": "xp.int64", "torch.float": "xp.float32",
}
#: the notes' tensor methods -> the standard's functions (``A.sum(axis=0)``: ``xp.sum(A, axis=0)``)
_METHOD_FUNCTIONS = {"sum": "sum", "mean": "mean", "cumsum": "cumulative_sum", "reshape": "reshape",
                     "exp": "exp", "abs": "abs", "norm": "linalg.vector_norm"}


class NotArrayApi(Exception):
    """The module named after ``array-api:`` is not an Array API namespace."""


def _dtype_keyword(xp: Any, dtype: DtypeArg) -> dict[str, Any]:
    """``dtype=`` as the program wrote it (``dtype=None`` included: the standard's
    creation functions take ``dtype=None`` for their default); no keyword where it
    wrote none."""
    if dtype is NOT_GIVEN:
        return {}
    return {"dtype": None if dtype is None else getattr(xp, str(dtype))}


def _reduction(axis: int | None, keepdims: bool) -> dict[str, Any]:
    return {**({} if axis is None else {"axis": axis}), **({"keepdims": True} if keepdims else {})}


def _dtype_name(dtype: Any) -> str:
    return str(np.dtype(str(dtype).rpartition(".")[2]))


class ArrayApiAdapter:
    #: a subclass names itself; ``array-api:MODULE`` otherwise
    name: ClassVar[str] = "array-api"
    capabilities: ClassVar[frozenset[str]] = frozenset()
    missing: ClassVar[dict[str, str]] = {
        "in_place": "the Array API standard does not guarantee that arrays are mutable, nor "
                    "whether a view and its base share memory (copy-view behaviour is left "
                    "to each library), so X[i] = v and X += Y have no portable meaning",
        "autograd": "the Array API standard has no automatic differentiation",
        "random": "the Array API standard has no random number generation",
        "compile": "the Array API standard has no compiler for whole programs",
    }
    namespace: ClassVar[str] = "xp"
    #: a subclass may set it; ``import MODULE as xp`` otherwise
    imports: ClassVar[str] = ""
    spelling: ClassVar[dict[str, str]] = SPELLING

    def __init__(self, module: str) -> None:
        self.module = module
        if type(self).name == ArrayApiAdapter.name:
            self.name = f"array-api:{module}"  # type: ignore[misc]
        if not type(self).imports:
            self.imports = f"import {module} as xp"  # type: ignore[misc]
        xp = importlib.import_module(module)
        if not hasattr(xp, "__array_api_version__") or not hasattr(xp, "__array_namespace_info__"):
            raise NotArrayApi(f"module {module!r} is not an Array API namespace (it has no "
                              "__array_api_version__ / __array_namespace_info__)")
        self.xp = xp
        defaults = xp.__array_namespace_info__().default_dtypes()
        default_int = _dtype_name(defaults["integral"])
        default_float = _dtype_name(defaults["real floating"])
        self.policy = DtypePolicy(
            default_int=default_int, default_float=default_float,
            max_bits=64 if hasattr(xp, "float64") and hasattr(xp, "int64") else 32,
            int_float_promotion=self._int_float_promotion(),
            # the standard: sum and cumulative_sum of a bool or signed integer array with no
            # dtype= "must have the default integer data type"
            int_accumulator="default",
        )

    def _int_float_promotion(self) -> str:
        """int32 array op float32 array: the standard leaves mixed kinds unspecified, so
        the library's own answer is read (array_api_strict raises: then either rule
        gives the same expected failure)."""
        xp = self.xp
        try:
            mixed = xp.asarray([1], dtype=xp.int32) + xp.asarray([1.0], dtype=xp.float32)
        except Exception:
            return "float_operand"
        return "float_operand" if _dtype_name(mixed.dtype) == "float32" else "widest"

    def versions(self) -> dict[str, str]:
        root = importlib.import_module(self.module.partition(".")[0])
        return {self.module: str(getattr(root, "__version__", "?")),
                "array API": str(self.xp.__array_api_version__)}

    # -- crossing the boundary -------------------------------------------
    def from_host(self, array: Any) -> Any:
        return self.xp.asarray(array, copy=True)

    def to_host(self, value: Any) -> Any:
        if isinstance(value, np.generic):
            # NumPy returns a NumPy scalar, not a 0-d array, for 0-d results (sum, x[i]):
            # a known deviation from the standard; it has no __dlpack__, and its value and
            # dtype are what NumPy computed
            return np.asarray(value)
        # DLPack, the standard's interchange protocol; copied so that the snapshot stays
        return np.array(np.from_dlpack(value), copy=True)

    def is_tensor(self, value: Any) -> bool:
        # the standard's test for an array object: it has __array_namespace__
        return hasattr(value, "__array_namespace__")

    def to_bool(self, value: Any) -> bool:
        return bool(value)

    # -- creation ----------------------------------------------------------
    def tensor(self, data: Any, dtype: DtypeArg) -> Any:
        return self.xp.asarray(data, **_dtype_keyword(self.xp, dtype))

    def arange(self, end: int | float, dtype: DtypeArg) -> Any:
        return self.xp.arange(end, **_dtype_keyword(self.xp, dtype))

    def zeros(self, shape: tuple[int, ...], dtype: DtypeArg) -> Any:
        return self.xp.zeros(shape, **_dtype_keyword(self.xp, dtype))

    def ones(self, shape: tuple[int, ...], dtype: DtypeArg) -> Any:
        return self.xp.ones(shape, **_dtype_keyword(self.xp, dtype))

    def zeros_like(self, x: Any) -> Any:
        return self.xp.zeros_like(x)

    # -- shape -------------------------------------------------------------
    def shape(self, x: Any) -> tuple[int, ...]:
        return tuple(x.shape)

    def numel(self, x: Any) -> int:
        return int(x.size)

    def length(self, x: Any) -> int:
        # the standard's arrays need not define __len__: len(x) is x.shape[0] (a 0-d
        # array has none: IndexError, as len() of a 0-d tensor raises TypeError)
        return int(x.shape[0])

    def reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        return self.xp.reshape(x, shape)

    def transpose(self, x: Any) -> Any:
        return x.T

    def cat(self, tensors: Sequence[Any], axis: int) -> Any:
        return self.xp.concat(tuple(tensors), axis=axis)

    # -- elementwise: the array object's operators ----------------------------------------
    def add(self, x: Any, y: Any) -> Any:
        return x + y

    def sub(self, x: Any, y: Any) -> Any:
        return x - y

    def mul(self, x: Any, y: Any) -> Any:
        return x * y

    def div(self, x: Any, y: Any) -> Any:
        return x / y

    def pow(self, x: Any, y: Any) -> Any:
        return x**y

    def eq(self, x: Any, y: Any) -> Any:
        return x == y

    def lt(self, x: Any, y: Any) -> Any:
        return x < y

    def gt(self, x: Any, y: Any) -> Any:
        return x > y

    def neg(self, x: Any) -> Any:
        return -x

    def exp(self, x: Any) -> Any:
        return self.xp.exp(x)

    def abs(self, x: Any) -> Any:
        return self.xp.abs(x)

    # -- reductions --------------------------------------------------------
    def sum(self, x: Any, axis: int | None, keepdims: bool) -> Any:
        return self.xp.sum(x, **_reduction(axis, keepdims))

    def mean(self, x: Any, axis: int | None, keepdims: bool) -> Any:
        return self.xp.mean(x, **_reduction(axis, keepdims))

    def cumsum(self, x: Any, axis: int) -> Any:
        # the standard's name for a cumulative sum
        return self.xp.cumulative_sum(x, axis=axis)

    def norm(self, x: Any, p: float) -> Any:
        if p == 2 and x.ndim == 2:
            # the notes' torch.norm(X) of a matrix: the standard's matrix norm (Frobenius
            # by default), on the matrix as given
            return self.xp.linalg.matrix_norm(x)
        # another function than the notes' norm: the L_p norm of all entries (a vector's,
        # or torch.norm(X, p=p) of any rank) is the standard's vector_norm over all axes
        return self.xp.linalg.vector_norm(x) if p == 2 else self.xp.linalg.vector_norm(x, ord=p)

    # -- products ----------------------------------------------------------
    def dot(self, x: Any, y: Any) -> Any:
        # the standard's dot product of two vectors
        return self.xp.vecdot(x, y)

    def mv(self, a: Any, x: Any) -> Any:
        # the standard has no mv: matmul (the @ operator) is its spelling
        return self.xp.matmul(a, x)

    def mm(self, a: Any, b: Any) -> Any:
        # the standard has no mm: matmul (the @ operator) is its spelling
        return self.xp.matmul(a, b)

    # -- indexing ------------------------------------------------------------
    def getitem(self, x: Any, key: Any) -> Any:
        return x[key]

    # -- reproducers ----------------------------------------------------------
    def literal(self, array: np.ndarray) -> str:
        dtype = "bool" if array.dtype == np.bool_ else str(array.dtype)
        text = f"xp.asarray({_nested(array.tolist())}, dtype=xp.{dtype})"
        if array.size == 0 and array.ndim != 1:
            text = f"xp.reshape({text}, {tuple(array.shape)})"
        return text

    def translate(self, code: str) -> str:
        """The notes' methods become the standard's functions (its arrays have no
        ``.sum()``): ``A.sum(axis=0)`` -> ``xp.sum(A, axis=0)``, ``x.numel()`` -> ``x.size``,
        ``len(x)`` -> ``x.shape[0]``; then the spelling table."""
        tree = ast.parse(code)
        tree = _MethodsToFunctions().visit(tree)
        text = ast.unparse(ast.fix_missing_locations(tree))
        for notes_name, own in self.spelling.items():
            text = text.replace(notes_name, own)
        return text.replace("torch.", "xp.")


#: the notes' keywords -> the standard's
_KEYWORDS = {"dim": "axis", "keepdim": "keepdims", "p": "ord"}


def _nested(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_nested(x) for x in v) + "]"
    return f"float('{v}')" if isinstance(v, float) and not math.isfinite(v) else repr(v)


class _MethodsToFunctions(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        node.keywords = [ast.keyword(_KEYWORDS.get(k.arg or "", k.arg), k.value)
                         for k in node.keywords]
        if isinstance(func, ast.Attribute) and not (
                isinstance(func.value, ast.Name) and func.value.id == "torch"):
            if func.attr == "numel" and not node.args:
                return ast.Attribute(func.value, "size", ast.Load())
            if func.attr in _METHOD_FUNCTIONS:
                name = ast.parse(f"xp.{_METHOD_FUNCTIONS[func.attr]}", mode="eval").body
                args = list(node.args)
                if func.attr == "reshape" and len(args) > 1:
                    args = [ast.Tuple(args, ast.Load())]
                keywords = list(node.keywords)
                if func.attr in ("sum", "mean", "cumsum") and args:
                    keywords.insert(0, ast.keyword("axis", args.pop(0)))
                return ast.Call(name, [func.value, *args], keywords)
        if isinstance(func, ast.Name) and func.id == "len" and len(node.args) == 1:
            return ast.Subscript(ast.Attribute(node.args[0], "shape", ast.Load()),
                                 ast.Constant(0), ast.Load())
        return node
