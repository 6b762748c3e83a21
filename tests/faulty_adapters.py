"""A backend loaded from a file path, under its own name, whose adapter is wrong: the
fixture of the tests of file-path loading, failure reports and xdist
(tests/test_adapter_loading.py, tests/test_suite_runs.py).

Detection power is not tested with this: planted faults that the suite must catch are
in the libraries themselves (conformance/fault_catalogue.py, tests/test_faulty_backends.py).
"""

from __future__ import annotations

import numpy as np

from tensor_conformance.adapters.numpy_backend import NumpyAdapter


class CumsumOffByOne(NumpyAdapter):
    name = "numpy-cumsum-off-by-one"

    def cumsum(self, x: np.ndarray, axis: int) -> np.ndarray:
        return super().cumsum(x, axis) + 1


#: NumPy's adapter without a ``cumsum`` method: an incomplete plug-in, whose cells that
#: call the method must be "not applicable" naming it, never an AttributeError
NumpyWithoutCumsum = type("NumpyWithoutCumsum", (), {
    **{k: v for k, v in vars(NumpyAdapter).items()
       if k not in ("cumsum", "__dict__", "__weakref__")},
    "name": "numpy-without-cumsum",
})


class CumsumWrongOnce(NumpyAdapter):
    """Wrong once in the process, on its first ``cumsum`` of a nonempty array: a failure
    that a shared corpus example meets and hypothesis's search on the same backend
    cannot meet again (the fallback of conformance/corpus.py: the example is shown
    unshrunk)."""

    name = "numpy-cumsum-wrong-once"
    wrong = False

    def cumsum(self, x: np.ndarray, axis: int) -> np.ndarray:
        out = super().cumsum(x, axis)
        if np.size(x) and not type(self).wrong:
            type(self).wrong = True
            return out + 1
        return out


class CumsumWrongOrRaising(NumpyAdapter):
    """Two bugs at once: its ``cumsum`` is off by one, and it cannot take in an array of
    more than one dimension (``from_host`` raises, outside any output the engine
    compares).  Hypothesis reports two distinct failures as one ExceptionGroup; the cell
    is still this backend's disagreement, never an error of the suite."""

    name = "numpy-cumsum-wrong-or-raising"

    def from_host(self, array: np.ndarray) -> np.ndarray:
        if np.ndim(array) > 1:
            raise RuntimeError("arrays of more than one dimension are not implemented")
        return super().from_host(array)

    def cumsum(self, x: np.ndarray, axis: int) -> np.ndarray:
        return super().cumsum(x, axis) + 1
