"""Switching the suite on: the pytest plugin every install registers (entry point
``pytest11``), inert unless a run asks for the suite.

Installing tensor-conformance beside a library must not change that library's own test
runs, so this module only adds the suite's options (they must exist before the command
line is parsed).  The suite itself (plugin.py: loading specs and backends, the cells, the
hypothesis profiles, the report) is registered only when the run collects the suite's
tests: ``pytest --pyargs tensor_conformance`` (from any folder), or a path inside the
package's folder (``pytest conformance/`` in a checkout; a node id such as
``conformance/test_conformance.py::test_case[...]``).

``conformance/conftest.py`` switches the suite on for any run that collects that folder,
so a checkout's ``pytest conformance/`` runs the suite whichever copy of the package was
imported (tox installs one), and registers this module itself where no entry point did
(a checkout on ``PYTHONPATH``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings

from tensor_conformance import isolation, locations
from tensor_conformance.adapters import registry

PACKAGE_NAME = "tensor_conformance"
#: the name plugin.py is registered under
PLUGIN_NAME = "tensor-conformance"
DEFAULT_PROFILE = "ci"

_COMMON: dict[str, Any] = {
    "deadline": None,  # JAX compiles on first use of a shape: timing is not the point here
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}


def register_profiles() -> None:
    """The suite's hypothesis profiles (README, "Profiles")."""
    # deterministic: the same examples on every run, no database (CI, regressions)
    settings.register_profile("ci", derandomize=True, database=None, max_examples=100, **_COMMON)
    # hunting: random (vary --hypothesis-seed), any shape instead of the pool (strategies.py),
    # twice the examples; the example database remembers failures
    settings.register_profile("explore", max_examples=200, **_COMMON)
    # a quick look while writing a spec
    settings.register_profile("quick", derandomize=True, database=None, max_examples=10,
                              phases=[Phase.explicit, Phase.generate, Phase.shrink], **_COMMON)


def asks_for_the_suite(config: pytest.Config) -> bool:
    """Whether this run collects the suite's tests (see the module's docstring)."""
    if config.getoption("pyargs", False):
        return any(str(arg).split("::")[0].split(".")[0] == PACKAGE_NAME for arg in config.args)
    for arg in config.args:
        path = Path(str(arg).split("::")[0])
        if not path.is_absolute():
            path = config.invocation_params.dir / path
        path = path.resolve()
        if path == locations.PACKAGE or path.is_relative_to(locations.PACKAGE):
            return True
    return False


def pytest_addoption(parser: pytest.Parser) -> None:
    """The suite's command-line options: added whether or not the run asks for the suite,
    so that they parse."""
    group = parser.getgroup("conformance", "tensor-conformance")
    group.addoption("--backend", action="append", default=[], metavar="NAME[,NAME...]",
                    help="backends to check: built-in names "
                    f"({', '.join(registry.BUILTIN)}), package.module:Class or "
                    f"path/to/file.py:Class (default: {','.join(registry.DEFAULT_BACKENDS)})")
    group.addoption("--specs", default=str(locations.SPECS), metavar="DIR",
                    help="folder of spec files (default: the built-in specs/)")
    group.addoption("--divergences", action="append", default=[], metavar="PATH",
                    help="a known-divergence registry file, or a folder of them, added to the "
                    "built-in one (<specs>/divergences/); repeatable")
    group.addoption("--report-dir", default="reports", metavar="DIR",
                    help="where results.json and index.html go (default: reports/)")
    group.addoption("--no-report", action="store_true", help="write no results.json/index.html")
    group.addoption("--require-backends", action="append", default=[], metavar="NAME[,NAME...]",
                    help="fail the run (usage error) unless each of these selected backends is "
                    "available: a missing library is then an error, not 'not applicable'")
    group.addoption("--eager", action="store_true",
                    help="never compile a whole case program (JAX: jax.jit); run every "
                    "operation on its own, as the notes do (cases that check compiled "
                    "programs are then not applicable)")
    group.addoption("--draw-per-cell", action="store_true",
                    help="every (case, backend) cell draws its own examples, instead of "
                    "replaying the case's shared corpus (conformance/corpus.py)")
    isolation.addoption(group)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if asks_for_the_suite(config):
        activate(config)


def activate(config: pytest.Config) -> None:
    """Switch the suite on (once).  Runs before hypothesis's own plugin loads
    ``--hypothesis-profile``: the suite's profiles exist, and the suite's default is
    loaded where the run names none."""
    if config.pluginmanager.has_plugin(PLUGIN_NAME):
        return
    register_profiles()
    if not config.getoption("hypothesis_profile", None):
        settings.load_profile(DEFAULT_PROFILE)
    from tensor_conformance import plugin

    config.pluginmanager.register(plugin, PLUGIN_NAME)  # its pytest_configure runs now
