"""A tiny 'library' with a planted bug: NumPy, except that cumsum is off by one.

Used to check that a reproducer from the report, pasted into Python, shows the bug
without the suite (tests/test_suite_runs.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy import *  # noqa: F403  (the library is NumPy plus one bug)


class FaultyArray(np.ndarray):
    def cumsum(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return np.asarray(np.ndarray.cumsum(self, *args, **kwargs)) + 1


def asarray(data: Any, dtype: Any = None) -> FaultyArray:
    return np.asarray(data, dtype=dtype).view(FaultyArray)
