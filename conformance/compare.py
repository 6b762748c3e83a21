"""Comparison rules: when does a backend's output agree with what is expected?

* shapes, dtypes, integers, booleans, Python values and identities: exactly;
* floats: |got - reference| <= bound, where the bound is the one the reference
  computed for that element (``adapters/reference/bounds.py``); NaN must meet
  NaN and an infinity the same infinity;
* booleans the reference marked "unsure" (a comparison within rounding error)
  are not judged;
* an error on one side only is a mismatch; errors on both sides agree;
* against the notes' printed output: every printed number stands for the
  interval its digits allow (``tensor_conformance.printed``), widened by the
  backend's own rounding of the value (2 u |v|).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tensor_conformance.adapters.protocol import DtypePolicy
from tensor_conformance.adapters.reference.dtypes import UNIT_ROUNDOFF, narrowed
from tensor_conformance.observed import Observed
from tensor_conformance.printed import Printed, PrintedNumber, PrintedTensor


@dataclass
class Mismatch:
    output: str
    problem: str  # "error" | "type" | "shape" | "dtype" | "value" | "relation"
    expected: str
    got: str
    difference: str = ""
    tolerance: str = ""
    #: what each side is: the reference's value and the backend's, by default
    sides: tuple[str, str] = ("expected", "got")

    def describe(self) -> str:
        first, second = self.sides
        text = f"{self.output}: {self.problem} differs: {first} {self.expected}, {second} {self.got}"
        if self.difference:
            text += f"; {self.difference}"
        if self.tolerance:
            text += f" (allowed: {self.tolerance})"
        return text


def _where(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, index)) + "]" if index else "the value"


def compare(name: str, expected: Observed, got: Observed) -> list[Mismatch]:
    """Backend output ``got`` against the reference's ``expected``."""
    if expected.kind == "error" or got.kind == "error":
        if expected.kind == got.kind:
            return []
        return [Mismatch(name, "error", expected.describe(), got.describe())]
    if expected.kind != got.kind:
        return [Mismatch(name, "type", expected.describe(), got.describe())]
    if expected.kind == "tuple":
        if len(expected.value) != len(got.value):
            return [Mismatch(name, "type", expected.describe(), got.describe())]
        out: list[Mismatch] = []
        for i, (e, g) in enumerate(zip(expected.value, got.value, strict=True)):
            out += compare(f"{name}[{i}]", e, g)
        return out
    if expected.kind in ("python", "none"):
        if expected.value != got.value or (type(expected.value) is not type(got.value) and not (
            isinstance(expected.value, int | float) and isinstance(got.value, int | float)
        )):
            return [Mismatch(name, "value", repr(expected.value), repr(got.value))]
        return []
    return _compare_tensors(name, expected, got)


def _compare_tensors(name: str, expected: Observed, got: Observed) -> list[Mismatch]:
    if expected.shape != got.shape:
        return [Mismatch(name, "shape", str(expected.shape), str(got.shape))]
    out = []
    if expected.dtype != got.dtype:
        out.append(Mismatch(name, "dtype", str(expected.dtype), str(got.dtype)))
    value = value_mismatch(name, expected.value, got.value, expected.bounds, expected.unsure)
    return out + ([value] if value else [])


def value_mismatch(name: str, want: np.ndarray, got: np.ndarray, bounds: np.ndarray | None,
                   unsure: np.ndarray | None) -> Mismatch | None:
    """The worst element outside its bound, or None when every element is within."""
    if want.size == 0:
        return None
    if want.dtype.kind in "biu" and got.dtype.kind in "biu":
        bad = want.astype(object) != got.astype(object)
        if unsure is not None:
            bad &= ~unsure
        if not bad.any():
            return None
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        return Mismatch(name, "value", f"{want[idx].item()!r} at {_where(idx)}", f"{got[idx].item()!r}",
                        f"{int(bad.sum())} of {want.size} elements differ", "exact")
    w = want.astype(np.float64)
    g = got.astype(np.float64)
    b = np.zeros_like(w) if bounds is None else bounds.astype(np.float64)
    w_nan, g_nan = np.isnan(w), np.isnan(g)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(g - w)
        equal = w == g  # equal values never disagree, whatever the bound
        # an infinite bound: the reference cannot say anything about that element (a
        # derivative where it is undefined, see adapters/reference/autograd.py), NaN included
        bad = ~np.isinf(b) & ((w_nan != g_nan) | (~w_nan & ~g_nan & ~equal & ~(diff <= b)))
    if not bad.any():
        return None
    excess = np.where(bad, np.nan_to_num(diff - b, nan=np.inf, posinf=np.inf), -np.inf)
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), w.shape))
    if np.isnan(b[idx]) and not w_nan[idx] and not g_nan[idx]:
        return Mismatch(
            name, "value", f"{w[idx].item()!r} at {_where(idx)}", f"{g[idx].item()!r}",
            f"|got - expected| = {diff[idx]:.3g}; the reference's error bound here is "
            "undefined (NaN): a problem of the reference, not a disagreement of the backend",
            "undefined (the reference's bound is NaN; see adapters/reference/bounds.py)",
        )
    return Mismatch(
        name, "value", f"{w[idx].item()!r} at {_where(idx)}", f"{g[idx].item()!r}",
        f"|got - expected| = {diff[idx]:.3g}; {int(bad.sum())} of {w.size} elements outside",
        f"{b[idx]:.3g} (error bound of the operation, see adapters/reference/bounds.py)",
    )


# -- the notes' printed output ----------------------------------------------------------
def _printed_dtype(p: PrintedTensor, policy: DtypePolicy, exact: bool) -> str:
    role = p.role()
    if role == "default_int":
        return "int64" if exact else policy.default_int
    if role == "default_float":
        return "float32" if exact else policy.default_float
    return role if exact else narrowed(role, policy)


def against_printed(name: str, want: Printed, got: Observed, policy: DtypePolicy,
                    exact_dtypes: bool, reference: Observed | None = None) -> list[Mismatch]:
    """The backend's output against what the notes print for that line.

    Values and shapes come from the print.  Dtypes: with ``exact_dtypes`` (or for the
    reference itself, ``reference=None``) exactly what PyTorch's print implies;
    otherwise what the reference computes under the backend's declared policy, so
    that a backend's documented defaults are checked once, by the defaults spec."""
    if got.kind == "error":
        return [Mismatch(name, "error", "a value (the notes print one)", got.describe())]
    if want is None:
        return [] if got.kind == "none" else [Mismatch(name, "value", "None", got.describe())]
    if isinstance(want, PrintedTensor):
        if got.kind != "tensor":
            return [Mismatch(name, "type", "a tensor", got.describe())]
        dtype = (reference.dtype if reference is not None and reference.kind == "tensor"
                 and not exact_dtypes else _printed_dtype(want, policy, exact=True))
        return _tensor_against_printed(name, want, got, dtype, exact_dtypes or reference is None)
    if isinstance(want, PrintedNumber):
        value = got.value
        if got.kind == "tensor" and got.shape == ():
            value = got.value.item()
        elif got.kind != "python":
            return [Mismatch(name, "type", repr(want.value), got.describe())]
        if isinstance(want.value, bool) or isinstance(value, bool):
            ok = value is want.value or (isinstance(value, bool | np.bool_) and value == want.value)
        else:
            ok = abs(float(value) - float(want.value)) <= want.half_unit
        return [] if ok else [Mismatch(name, "value", repr(want.value), repr(value))]
    # a tuple: the notes print several values, or a torch.Size
    items = got.value if got.kind in ("tuple", "python") else None
    if items is None or len(items) != len(want):
        return [Mismatch(name, "type", f"{len(want)} values", got.describe())]
    refs = (reference.value if reference is not None and reference.kind == "tuple"
            else [None] * len(want))
    out: list[Mismatch] = []
    for i, (w, g, r) in enumerate(zip(want, items, refs, strict=True)):
        g_obs = g if isinstance(g, Observed) else Observed("python", g)
        out += against_printed(f"{name}[{i}]", w, g_obs, policy, exact_dtypes, r)
    return out


def _tensor_against_printed(name: str, want: PrintedTensor, got: Observed, dtype: str | None,
                            exact: bool) -> list[Mismatch]:
    if tuple(want.shape) != got.shape:
        return [Mismatch(name, "shape", str(tuple(want.shape)), str(got.shape))]
    out = []
    if dtype != got.dtype:
        why = "as PyTorch prints it in the notes" if exact else "the reference, under this backend's policy"
        out.append(Mismatch(name, "dtype", f"{dtype} ({why})", str(got.dtype)))
    values = np.array([n.value for n in want.values], dtype=object).reshape(want.shape)
    if want.kind == "float":
        u = UNIT_ROUNDOFF.get(str(got.dtype), UNIT_ROUNDOFF["float32"])
        halves = np.array([n.half_unit for n in want.values], dtype=np.float64).reshape(want.shape)
        want_f = values.astype(np.float64)
        bounds = halves + 2 * u * np.abs(want_f)
        m = value_mismatch(name, want_f, got.value.astype(np.float64), bounds, None)
    else:
        m = value_mismatch(name, values.astype(np.int64), got.value, None, None)
    if m is not None:
        m.tolerance = m.tolerance.replace("error bound of the operation, see adapters/reference/bounds.py",
                                          "the printed digits, plus 2 u |v|")
        out.append(m)
    return out


# -- the claim's own relations -------------------------------------------------------------
def holds(name: str, got: Observed, reference: Observed | None) -> Mismatch | None:
    """A ``holds:`` expression must be true (every element, for a boolean tensor)."""
    if got.kind == "python" and got.value is True:
        return None
    if got.kind == "tensor" and got.dtype == "bool":
        ok = got.value.astype(bool)
        if reference is not None and reference.unsure is not None and reference.shape == got.shape:
            ok = ok | reference.unsure
        if ok.all():
            return None
    return Mismatch(name, "relation", "True", got.describe())


def agree(left: str, right: str, got_l: Observed, got_r: Observed, ref_l: Observed | None,
          ref_r: Observed | None) -> list[Mismatch]:
    """Both sides of an ``agree:`` pair are the same value (within the sum of their bounds)."""
    name = f"{left}  ==  {right}"
    if got_l.kind == "error" or got_r.kind == "error":
        return [Mismatch(name, "error", "values on both sides",
                         f"{got_l.describe()} vs {got_r.describe()}")]
    if got_l.kind != "tensor" or got_r.kind != "tensor":
        lv = got_l.value.item() if got_l.kind == "tensor" and got_l.shape == () else got_l.value
        rv = got_r.value.item() if got_r.kind == "tensor" and got_r.shape == () else got_r.value
        bound = _scalar_bound(ref_l) + _scalar_bound(ref_r)
        try:
            close = lv == rv or abs(float(lv) - float(rv)) <= bound
        except (TypeError, ValueError):
            close = False
        return [] if close else [Mismatch(name, "relation", repr(lv), repr(rv))]
    if got_l.shape != got_r.shape:
        return [Mismatch(name, "shape", str(got_l.shape), str(got_r.shape))]
    out = []
    if got_l.dtype != got_r.dtype:
        out.append(Mismatch(name, "dtype", str(got_l.dtype), str(got_r.dtype)))
    bounds = _bounds(ref_l, got_l.shape) + _bounds(ref_r, got_r.shape)
    m = value_mismatch(name, got_l.value, got_r.value, bounds, None)
    if m is not None and got_l.value.dtype.kind in "biu" and got_r.value.dtype.kind == "f":
        m = value_mismatch(name, got_l.value.astype(np.float64), got_r.value, bounds, None)
    if m is not None:
        m.problem = "relation"
        out.append(m)
    return out


def _bounds(ref: Observed | None, shape: tuple[int, ...] | None) -> np.ndarray:
    if ref is None or ref.bounds is None or ref.shape != shape:
        return np.zeros(shape or ())
    return ref.bounds


def _scalar_bound(ref: Observed | None) -> float:
    if ref is None or ref.bounds is None or ref.bounds.size != 1:
        return 0.0
    return float(ref.bounds.reshape(()))


def all_unchecked(reference: dict[str, Observed]) -> bool:
    """True when every float element of every output has an infinite bound (nothing
    would be checked): such an example is rejected rather than counted as a pass."""
    seen = False
    for obs in reference.values():
        if obs.kind != "tensor" or obs.bounds is None:
            return False
        seen = True
        if not np.all(np.isinf(obs.bounds)):
            return False
    return seen
