"""Error bounds: how far a conforming floating-point backend may land from the reference.

The reference computes every float result *correctly rounded* (exact arithmetic,
``math.fsum`` or ``fractions``, then one rounding to the result dtype).  A
backend computes the same result in floating point, in some order.  Each
operation below states the bound on |backend - reference| that the standard
floating-point error analysis gives (N. J. Higham, *Accuracy and Stability of
Numerical Algorithms*, 2nd ed., SIAM 2002: §2.2 the model fl(x op y) =
(x op y)(1 + d), |d| <= u; §3.1 inner products and summation, gamma_n = n u / (1 - n u)).

Every bound has three parts:

1. the backend's own rounding in this operation (constants below, in units of u);
2. the reference's rounding of the exact value (at most u·|v|);
3. propagation of the bounds already carried by the inputs (first-order, through
   the derivative of the operation), so programs that chain operations get
   bounds for the chain, not for each step in isolation;

plus an absolute term, the smallest normal number of the dtype, because a
backend may flush subnormal results to zero.

Nothing here is tuned to make a backend pass: each constant is argued in its
comment, and a spec may tighten a bound but must say why if it loosens one.
"""

from __future__ import annotations

import math

from tensor_conformance.adapters.reference.dtypes import SMALLEST_NORMAL, UNIT_ROUNDOFF

#: the backend's rounding error per operation, in units of u·|result| (or of the
#: sum of magnitudes for reductions).  0.5 ulp == 1 u·|x|.
BACKEND_ROUNDING = {
    # IEEE 754 §5.4: +, -, *, / and sqrt are correctly rounded
    "add": 1.0,
    "sub": 1.0,
    "mul": 1.0,
    "div": 1.0,
    # int -> float conversion of both operands, then a correctly rounded division
    "int_div": 3.0,
    # transcendental functions are not required to be correctly rounded (IEEE 754
    # §9.2 only recommends it).  glibc documents <= 1 ulp for exp/pow in float64,
    # SLEEF's u10 variants (PyTorch's vectorised CPU path) <= 1.0 ulp, XLA's
    # float32 approximations are a polynomial with a few ulps.  4 ulps = 8 u.
    "exp": 8.0,
    "pow": 8.0,
    "sqrt": 1.0,
}


def unit(dtype: str) -> float:
    return UNIT_ROUNDOFF[dtype]


def floor(dtype: str) -> float:
    """Absolute term of every bound: subnormal results may be flushed to zero."""
    return SMALLEST_NORMAL[dtype]


def gamma(n: int, dtype: str) -> float:
    """Higham's gamma_n = n u / (1 - n u): the relative error bound of n roundings."""
    nu = n * unit(dtype)
    if nu >= 1:
        return math.inf
    return nu / (1 - nu)


def elementwise(op: str, value: float, propagated: float, dtype: str) -> float:
    """Bound for one element of an elementwise operation with result ``value``.

    backend rounding (BACKEND_ROUNDING[op] u |v|) + reference rounding (u |v|)
    + the inputs' bounds propagated through the derivative (``propagated``).
    """
    if not math.isfinite(value):
        # an infinite propagated bound says the inputs cannot decide the result (x / a
        # zero that may carry either sign): it is kept, an exact infinity or nan is not
        return propagated if math.isnan(propagated) or math.isinf(propagated) else 0.0
    return propagated + (BACKEND_ROUNDING[op] + 1.0) * unit(dtype) * abs(value) + floor(dtype)


def summation(n: int, abs_sum: float, value: float, propagated: float, dtype: str) -> float:
    """Bound for a sum of n terms computed in any order (recursive, pairwise, blocked):
    |fl(sum) - sum| <= gamma_{n-1} sum|x_i| (Higham (4.4)), plus the reference's rounding."""
    return (
        propagated
        + gamma(max(n - 1, 0), dtype) * abs_sum
        + unit(dtype) * abs(value)
        + n * floor(dtype)
    )


def inner_product(n: int, abs_products: float, value: float, propagated: float, dtype: str) -> float:
    """Bound for sum_i x_i y_i over n terms: |fl(x.y) - x.y| <= gamma_n sum|x_i y_i|
    (Higham (3.5)); a fused multiply-add only makes it smaller."""
    return (
        propagated
        + gamma(n, dtype) * abs_products
        + unit(dtype) * abs(value)
        + (n + 1) * floor(dtype)
    )


def mean(n: int, sum_bound: float, value: float, dtype: str) -> float:
    """mean = sum / n: the sum's bound scaled by 1/n, one more division rounding,
    and the reference's rounding."""
    if n == 0:
        return 0.0
    return sum_bound / n + 2 * unit(dtype) * abs(value) + floor(dtype)


def norm(n: int, p: float, value: float, propagated: float, dtype: str) -> float:
    """(sum |x_i|^p)^(1/p): each |x_i|^p carries the pow rounding (exact for p = 1,
    one multiplication for p = 2), the sum gamma_{n-1} relative (all terms are
    non-negative), and the 1/p-th root divides a relative error by p and adds
    its own rounding.  Relative to the result v:
    ((c_p + (n-1)) u / p + c_root u) v, with c_p, c_root from BACKEND_ROUNDING.

    Absolute part: each term |x_i|^p below the smallest normal number may be flushed
    to zero (or lose digits as a subnormal), so the sum may be off by n floor; the
    root maps an absolute error E of the sum to at most E^(1/p) in the result
    (t -> t^(1/p) is subadditive for p >= 1), plus the result's own floor."""
    u = unit(dtype)
    c_term = 0.0 if p == 1 else (1.0 if p == 2 else BACKEND_ROUNDING["pow"])
    c_root = 0.0 if p == 1 else (1.0 if p == 2 else BACKEND_ROUNDING["pow"])
    rel = (c_term + max(n - 1, 0)) * u / p + c_root * u + u
    if p not in (1, 2) and value > 0 and math.isfinite(value):
        # a backend raises the sum to fl(1/p) = (1/p)(1 + d), |d| <= u: that moves
        # v = S^(1/p) by the factor S^(d/p) = exp(d ln v), i.e. |ln v| u relative
        rel += abs(math.log(value)) * u
    underflow = (n * floor(dtype)) ** (1.0 / max(p, 1.0))
    return propagated + 1.01 * rel * abs(value) + underflow + floor(dtype)


def tangent_flush(node_inputs: int, node_outputs: int, adjoint_mass: float, dtype: str) -> float:
    """Absolute error that flushing subnormal intermediates to zero adds to a derivative
    computed in forward mode (jvp), through one operation of the program.

    Forward mode evaluates the tangent of each operation's result from its inputs'
    tangents (e.g. dot: sum_i x_i v_i): intermediates the reverse pass and the reference
    never form, which may fall below the smallest normal number (x_i at the smallest
    normal times |v_i| < 1) and be flushed to zero, an absolute error of up to the
    smallest normal each.  The tangent rule of an operation whose output element reads
    k input elements rounds at most 2k + 1 times per output element (k products, k
    sums, one more for a quotient or a power's factor); each such error reaches the
    differentiated output scaled by that output element's adjoint.  ``adjoint_mass`` is
    the sum of |adjoint| over the operation's output elements."""
    if adjoint_mass == 0 or not math.isfinite(adjoint_mass):
        return 0.0 if adjoint_mass == 0 else math.inf
    reads = max(1, math.ceil(node_inputs / max(node_outputs, 1)))
    return (2 * reads + 1) * floor(dtype) * adjoint_mass
