"""The import name of tensor-conformance, for a checkout that is not installed.

The repository keeps the layout its users asked for: the suite in ``conformance/``, the
backends in ``adapters/``, the specs in ``specs/``.  Installed (``pip install .``), those
folders *are* the package ``tensor_conformance``, its subpackage
``tensor_conformance.adapters`` and its data ``tensor_conformance/specs`` (setuptools'
``package-dir`` in pyproject.toml), so nothing installed takes the common names
``conformance`` or ``adapters``.  From a checkout's root (``PYTHONPATH=.``, ``python -m``,
a copy such as mutmut's ``mutants/``) this package points its module search at the same
folders, so ``tensor_conformance.engine`` is ``conformance/engine.py`` either way.
"""

from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent
# conformance/ holds the package's modules; the checkout's root holds adapters/ and specs/
__path__ = [str(_CHECKOUT / "conformance"), str(_CHECKOUT)]
