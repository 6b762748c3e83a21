"""Where the suite's files are, in a checkout and in an installed copy.

In the repository the code is in ``conformance/`` and ``adapters/`` and the specs in
``specs/``; installed, they are the package ``tensor_conformance``, its subpackage
``tensor_conformance.adapters`` and the data folder ``tensor_conformance/specs``.
"""

from __future__ import annotations

from pathlib import Path

import tensor_conformance.adapters

#: the package's own folder (conformance/ in a checkout)
PACKAGE = Path(__file__).resolve().parent
#: the adapters' folder (adapters/ in a checkout)
ADAPTERS = Path(tensor_conformance.adapters.__file__).resolve().parent
#: where paths in messages are relative to: the checkout's root, or site-packages
BASE = PACKAGE.parent


def _specs() -> Path:
    installed, checkout = PACKAGE / "specs", PACKAGE.parent / "specs"
    return installed if (installed / "claims.yaml").is_file() else checkout


#: the built-in specs, claims.yaml and the divergence registry (specs/ in a checkout)
SPECS = _specs()
#: the suite's own code: an exception raised there is an error of the suite
SUITE_CODE = (PACKAGE, ADAPTERS / "reference")


def shown(path: Path) -> str:
    """``path`` as messages show it: relative to the checkout (or site-packages)."""
    try:
        return str(path.resolve().relative_to(BASE))
    except ValueError:
        return str(path)
