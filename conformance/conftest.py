"""`pytest conformance/` runs every spec on every selected backend (see plugin.py)."""

from typing import Any

from hypothesis import HealthCheck, Phase, settings

from conformance.plugin import (  # noqa: F401  (pytest finds hooks by name)
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_generate_tests,
    pytest_report_header,
    pytest_runtest_call,
    pytest_runtest_logreport,
    pytest_runtest_makereport,
    pytest_runtest_setup,
    pytest_sessionfinish,
    pytest_sessionstart,
    pytest_terminal_summary,
)

_COMMON: dict[str, Any] = {
    "deadline": None,  # JAX compiles on first use of a shape: timing is not the point here
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
# deterministic: the same examples on every run, no database (CI, regressions)
settings.register_profile("ci", derandomize=True, database=None, max_examples=100, **_COMMON)
# hunting: random (vary --hypothesis-seed), any shape instead of the pool (strategies.py),
# twice the examples; the example database remembers failures
settings.register_profile("explore", max_examples=200, **_COMMON)
# a quick look while writing a spec
settings.register_profile("quick", derandomize=True, database=None, max_examples=10,
                          phases=[Phase.explicit, Phase.generate, Phase.shrink], **_COMMON)
settings.load_profile("ci")
