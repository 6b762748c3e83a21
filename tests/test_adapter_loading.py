"""--backend: built-in names, package.module:Class, path/to/file.py:Class, and failures."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tensor_conformance.adapters import registry
from tensor_conformance.adapters.numpy_backend import NumpyAdapter
from tensor_conformance.adapters.protocol import Adapter
from tests.conftest import ROOT


def test_a_builtin_name_loads_its_adapter() -> None:
    """(That it imports no other backend is checked in a fresh interpreter, below.)"""
    adapter = registry.load("numpy")
    assert isinstance(adapter, NumpyAdapter)
    assert isinstance(adapter, Adapter)


def test_dotted_and_file_paths() -> None:
    assert isinstance(registry.load("tensor_conformance.adapters.numpy_backend:NumpyAdapter"), NumpyAdapter)
    faulty = registry.load(f"{ROOT / 'tests' / 'faulty_adapters.py'}:CumsumOffByOne")
    assert getattr(faulty, "name", None) == "numpy-cumsum-off-by-one"


def test_a_missing_library_makes_the_backend_unavailable(tmp_path: Path) -> None:
    module = tmp_path / "needs_missing.py"
    module.write_text("import not_installed_library_xyz\nclass A: ...\n")
    result = registry.load(f"{module}:A")
    assert isinstance(result, registry.Unavailable)
    assert "not_installed_library_xyz is not installed" in result.reason


def test_torch_cuda_without_a_gpu_is_unavailable_not_an_error() -> None:
    pytest.importorskip("torch")
    import torch

    result = registry.load("torch-cuda")
    if torch.cuda.is_available():
        assert isinstance(result, Adapter)
    else:
        assert isinstance(result, registry.Unavailable)
        assert "CUDA" in result.reason


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ("nonsense", "expected a built-in name"),
        ("no_such_pkg.mod:Cls", "no module 'no_such_pkg'"),
        ("tensor_conformance.adapters.numpy_backend:Nope", "Nope"),
        ("/no/such/file.py:Cls", "no such file"),
        ("tests.conftest:Path", "lacks"),
    ],
)
def test_bad_selections_are_user_errors(selection: str, message: str) -> None:
    with pytest.raises(registry.AdapterError, match=message):
        registry.load(selection)


def test_the_registry_and_the_numpy_backend_import_neither_torch_nor_jax() -> None:
    """``pytest --backend numpy`` must run where torch or jax is broken or slow to import:
    checked in a fresh interpreter (this one has imported torch long ago)."""
    code = textwrap.dedent("""
        import sys
        from tensor_conformance.adapters import registry
        import tensor_conformance.plugin, tensor_conformance.engine
        assert registry.load("numpy").name == "numpy"
        assert registry.load("reference").name == "reference"
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "jax", "jaxlib")))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]", out.stdout
