"""`pytest conformance/`: collecting this folder asks for the suite.

Installed, the ``pytest11`` entry point has registered ``activation`` already; from a
checkout on ``PYTHONPATH`` (no entry point) this file registers it.  Either way the suite
is switched on here, even where the imported package is another copy of this folder
(tox's environment installs one, so the path alone would not say it is the suite).
"""

import pytest

from tensor_conformance import activation


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    if not pluginmanager.is_registered(activation):
        # pytest_addoption and pytest_configure are historic hooks: activation's run now
        pluginmanager.register(activation, "tensor_conformance")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    activation.activate(config)  # before hypothesis loads --hypothesis-profile
