"""Dtypes of the reference: rounding to a dtype and the promotion rules.

The promotion rules are PyTorch's, as the documentation shows them, with the
choices a backend makes on purpose (default widths, NumPy's widening of
int + float32) taken from its declared ``DtypePolicy``.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

from tensor_conformance.adapters.protocol import DtypePolicy


@dataclass(frozen=True)
class DType:
    name: str
    kind: str  # "bool" | "int" | "float"
    bits: int

    @property
    def is_float(self) -> bool:
        return self.kind == "float"


DTYPES: dict[str, DType] = {
    d.name: d
    for d in (
        DType("bool", "bool", 8),
        DType("int32", "int", 32),
        DType("int64", "int", 64),
        DType("float32", "float", 32),
        DType("float64", "float", 64),
    )
}

_KIND_ORDER = {"bool": 0, "int": 1, "float": 2}

#: unit roundoff u = 2^-p: a correctly rounded result is within u·|x| of the exact x
UNIT_ROUNDOFF = {"float32": 2.0**-24, "float64": 2.0**-53}
#: smallest positive normal number; below it a backend may flush to zero (XLA's CPU
#: backend does), so every float bound carries this as an absolute term
SMALLEST_NORMAL = {"float32": 2.0**-126, "float64": 2.0**-1022}
LARGEST = {"float32": float.fromhex("0x1.fffffep+127"), "float64": 1.7976931348623157e308}


class IntegerOverflow(ArithmeticError):
    """An integer result does not fit its dtype: the documentation is silent on wrap-around."""


def dtype(name: str) -> DType:
    try:
        return DTYPES[name]
    except KeyError:
        raise TypeError(f"unknown dtype {name!r}; expected one of {', '.join(DTYPES)}") from None


def narrowed(name: str, policy: DtypePolicy) -> str:
    """The dtype a backend actually holds when ``name`` is requested."""
    d = dtype(name)
    if d.bits > policy.max_bits:
        return {"int64": "int32", "float64": "float32"}[name]
    return name


def round_values(name: str, values: Iterable[object]) -> list:
    """Values converted to dtype ``name`` (floats correctly rounded, ints range-checked)."""
    d = dtype(name)
    if d.kind == "bool":
        return [bool(v) for v in values]
    if d.kind == "int":
        out = [int(v) for v in values]  # type: ignore[call-overload]
        limit = 2 ** (d.bits - 1)
        for v in out:
            if not -limit <= v < limit:
                raise IntegerOverflow(f"{v} does not fit {name}")
        return out
    floats = [float(v) for v in values]  # type: ignore[arg-type]
    if name == "float32":
        # array('f') converts with the C cast (float)x: round to nearest even
        return array("f", floats).tolist()
    return floats


def promote(a: str, b: str, policy: DtypePolicy) -> str:
    """Result dtype of a binary operation on two tensors."""
    da, db = dtype(a), dtype(b)
    if da.kind == db.kind:
        return a if da.bits >= db.bits else b
    hi, lo = (da, db) if _KIND_ORDER[da.kind] > _KIND_ORDER[db.kind] else (db, da)
    if (
        hi.kind == "float"
        and lo.kind == "int"
        and policy.int_float_promotion == "widest"
        and lo.bits >= hi.bits // 2 + 8  # float32 holds int16 exactly, not int32
    ):
        return narrowed("float64", policy)
    return hi.name


def scalar_kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    raise TypeError(f"not a Python scalar: {value!r}")


def promote_scalar(tensor_dtype: str, value: object, policy: DtypePolicy) -> str:
    """Result dtype of ``tensor op python_scalar``: scalars are weak (they keep the
    tensor's dtype unless they are of a higher kind, then the policy's default)."""
    kind = scalar_kind(value)
    d = dtype(tensor_dtype)
    if _KIND_ORDER[kind] <= _KIND_ORDER[d.kind]:
        return tensor_dtype
    return policy.default_float if kind == "float" else policy.default_int


def default_for(value: object, policy: DtypePolicy) -> str:
    """Dtype of ``torch.tensor(value)`` for a Python scalar."""
    kind = scalar_kind(value)
    return {"bool": "bool", "int": policy.default_int, "float": policy.default_float}[kind]


def is_finite(x: float) -> bool:
    return math.isfinite(x)
