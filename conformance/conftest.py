"""`pytest conformance/` in a checkout: the suite's plugin, even where it is not installed.

Installed, the ``pytest11`` entry point has registered ``activation`` already; from a
checkout on ``PYTHONPATH`` (no entry point) this file registers it.
"""

import pytest

from tensor_conformance import activation


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    if not pluginmanager.is_registered(activation):
        # pytest_addoption and pytest_configure are historic hooks: activation's run now
        pluginmanager.register(activation, "tensor_conformance")
