"""The known-divergence registry (conformance/divergences.py): loading, validation with a
clear error naming file and field, and which mismatches an entry explains for which cells."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from tensor_conformance import divergences
from tensor_conformance.compare import Mismatch
from tensor_conformance.divergences import Divergence
from tensor_conformance.spec import Spec, SpecError, load_all
from tests.conftest import CUMSUM

ENTRY = """
- id: numpy-cumsum-0d
  backend: numpy
  spec: tensors/cumsum
  cases: [any_axis]
  when: {dtype: [float32, int32]}
  outputs: ["A.cumsum(axis=axis)"]
  problems: [shape, value]
  reason: NumPy's cumsum of a 0-d array returns shape (1,)
  link: https://github.com/numpy/numpy/issues/1
"""


@pytest.fixture
def specs(specs_dir: Path) -> list[Spec]:
    (specs_dir / "tensors").mkdir()
    (specs_dir / "tensors" / "cumsum.yaml").write_text(CUMSUM, encoding="utf-8")
    return load_all(specs_dir)[0]


def load(tmp_path: Path, specs: list[Spec], text: str, name: str = "reg.yaml") -> divergences.Registry:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return divergences.load(path, specs)


def entry(**fields: object) -> Divergence:
    base: dict[str, object] = {"id": "e", "backend": "b", "spec": "s", "cases": None, "when": {},
                               "outputs": None, "problems": None, "reason": "r", "link": None}
    return Divergence(**{**base, **fields})  # type: ignore[arg-type]


def test_an_entry_loads_with_every_field(tmp_path: Path, specs: list[Spec]) -> None:
    (e,) = load(tmp_path, specs, ENTRY).entries
    assert e == Divergence("numpy-cumsum-0d", "numpy", "tensors/cumsum", ("any_axis",),
                           {"dtype": ("float32", "int32")}, ("A.cumsum(axis=axis)",),
                           ("shape", "value"), "NumPy's cumsum of a 0-d array returns shape (1,)",
                           "https://github.com/numpy/numpy/issues/1", False)
    assert e.to_json() == {"id": "numpy-cumsum-0d", "reason": e.reason,
                           "link": "https://github.com/numpy/numpy/issues/1"}


def test_optional_fields_default_to_everything(tmp_path: Path, specs: list[Spec]) -> None:
    (e,) = load(tmp_path, specs, """
        - id: minimal
          backend: numpy
          spec: tensors/cumsum
          compiled: true
          reason: >-
            folded   over
            lines
        """).entries
    assert (e.cases, e.when, e.outputs, e.problems, e.link) == (None, {}, None, None, None)
    assert e.compiled is True
    assert e.reason == "folded over lines"


def test_a_folder_loads_every_file_in_order_and_a_missing_path_is_empty(
    tmp_path: Path, specs: list[Spec]
) -> None:
    folder = tmp_path / "divergences"
    folder.mkdir()
    (folder / "b.yaml").write_text(ENTRY.replace("numpy-cumsum-0d", "second"), encoding="utf-8")
    (folder / "a.yaml").write_text(ENTRY, encoding="utf-8")
    (folder / "notes.txt").write_text("not a registry", encoding="utf-8")
    assert [e.id for e in divergences.load(folder, specs).entries] == ["numpy-cumsum-0d", "second"]
    assert divergences.load(tmp_path / "absent.yaml", specs).entries == []
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    assert divergences.load(tmp_path / "empty.yaml", specs).entries == []


def test_a_duplicate_id_in_one_file_is_an_error(tmp_path: Path, specs: list[Spec]) -> None:
    with pytest.raises(SpecError, match=r"reg\.yaml: \[1\] \(numpy-cumsum-0d\): duplicate divergence id"):
        load(tmp_path, specs, ENTRY + ENTRY)


def test_a_duplicate_id_across_files_is_an_error(tmp_path: Path, specs: list[Spec]) -> None:
    folder = tmp_path / "divergences"
    folder.mkdir()
    (folder / "a.yaml").write_text(ENTRY, encoding="utf-8")
    (folder / "b.yaml").write_text(ENTRY, encoding="utf-8")
    with pytest.raises(SpecError, match=r"b\.yaml: \[0\] \(numpy-cumsum-0d\): duplicate divergence id"):
        divergences.load(folder, specs)


@pytest.mark.parametrize(("change", "message"), [
    (("spec: tensors/cumsum", "spec: tensors/nothing"),
     r"reg\.yaml: \[0\] \(numpy-cumsum-0d\)\.spec: no spec 'tensors/nothing' under specs/"),
    (("cases: [any_axis]", "cases: [nope]"),
     r"reg\.yaml: \[0\] \(numpy-cumsum-0d\)\.cases: spec tensors/cumsum has no example or case 'nope' "
     r"\(it has: notes, any_axis\)"),
    (("when: {dtype:", "when: {B:"),
     r"reg\.yaml: \[0\] \(numpy-cumsum-0d\)\.when: 'B' is not drawn by the selected cases"),
    (('outputs: ["A.cumsum(axis=axis)"]', 'outputs: ["A.sum()"]'),
     r"reg\.yaml: \[0\] \(numpy-cumsum-0d\)\.outputs: .A.sum\(\). is not an output of the selected cases "
     r"\(outputs: A.cumsum\(axis=axis\), A.cumsum\(axis=axis\).shape == A.shape\)"),
    (("problems: [shape, value]", "problems: [colour]"), r"reg\.yaml: \[0\]\.problems\[0\]: 'colour'"),
    (("id: numpy-cumsum-0d", "id: Not_An_Id"), r"\[0\]\.id: 'Not_An_Id' does not match"),
    (("  reason: NumPy's cumsum of a 0-d array returns shape (1,)\n", ""),
     r"\[0\]: 'reason' is a required property"),
    (("link: https://", "link: http://"), r"\[0\]\.link: 'http://"),
])
def test_a_bad_entry_names_file_entry_and_field(
    tmp_path: Path, specs: list[Spec], change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in ENTRY
    with pytest.raises(SpecError, match=message):
        load(tmp_path, specs, ENTRY.replace(old, new))


def test_when_may_name_a_variable_drawn_by_any_selected_case(tmp_path: Path, specs: list[Spec]) -> None:
    """Without cases:, every case of the spec is selected; the notes' example draws nothing."""
    (e,) = load(tmp_path, specs, ENTRY.replace("  cases: [any_axis]\n", "")).entries
    assert e.cases is None and e.when == {"dtype": ("float32", "int32")}
    with pytest.raises(SpecError, match="'dtype' is not drawn"):
        load(tmp_path, specs, ENTRY.replace("cases: [any_axis]", "cases: [notes]"))


def test_for_cell_selects_by_backend_spec_and_case(tmp_path: Path, specs: list[Spec]) -> None:
    registry = load(tmp_path, specs, ENTRY + ENTRY.replace("numpy-cumsum-0d", "all-cases")
                    .replace("  cases: [any_axis]\n", ""))
    ids = lambda spec, case, backend: [e.id for e in registry.for_cell(spec, case, backend)]  # noqa: E731
    assert ids("tensors/cumsum", "any_axis", "numpy") == ["numpy-cumsum-0d", "all-cases"]
    assert ids("tensors/cumsum", "notes", "numpy") == ["all-cases"]
    assert ids("tensors/cumsum", "any_axis", "torch") == []
    assert ids("tensors/other", "any_axis", "numpy") == []


def test_an_entry_explains_only_its_outputs_and_problems() -> None:
    e = entry(outputs=("y",), problems=("value",))
    assert e.explains(Mismatch("y", "value", "1", "2"))
    assert e.explains(Mismatch("y[0, 1]", "value", "1", "2"))  # an element of it
    assert e.explains(Mismatch("y  ==  x", "value", "1", "2"))  # one side of a relation
    assert e.explains(Mismatch("x  ==  y", "value", "1", "2"))
    assert not e.explains(Mismatch("y", "dtype", "float32", "float64"))
    assert not e.explains(Mismatch("yy", "value", "1", "2"))
    assert not e.explains(Mismatch("x", "value", "1", "2"))
    assert not e.explains(Mismatch("x  ==  yy", "value", "1", "2"))
    assert not e.explains(Mismatch("x[y]", "value", "1", "2"))
    anything = entry()
    assert anything.explains(Mismatch("z", "shape", "(1,)", "()"))


def test_an_entry_selects_by_drawn_values_dtypes_and_compilation() -> None:
    e = entry(when={"dtype": ("float32",), "A": ("bool", "int8")})
    assert e.selects({"dtype": "float32", "A": np.array([True])})
    assert e.selects({"dtype": "float32", "A": np.array([1], dtype=np.int8)})
    assert not e.selects({"dtype": "float32", "A": np.array([1], dtype=np.int16)})
    assert not e.selects({"dtype": "float64", "A": np.array([True])})
    assert entry().selects({}) and entry().selects({}, compiled=True)
    compiled = entry(compiled=True)
    assert compiled.selects({}, compiled=True)
    assert not compiled.selects({})


def test_a_when_value_written_as_a_list_selects_a_drawn_shape(tmp_path: Path,
                                                            specs: list[Spec]) -> None:
    """A drawn shape is a tuple; YAML writes it as a list (``when: {shp: [[0]]}``: the
    legacy empty vector). The entry selects exactly that shape."""
    (e,) = load(tmp_path, specs, ENTRY.replace("when: {dtype: [float32, int32]}",
                                               "when: {A: [float32], axis: [[0], [2, 3]]}")).entries
    assert e.when == {"A": ("float32",), "axis": ((0,), (2, 3))}
    assert e.selects({"A": np.zeros(1, np.float32), "axis": (0,)})
    assert e.selects({"A": np.zeros(1, np.float32), "axis": (2, 3)})
    assert not e.selects({"A": np.zeros(1, np.float32), "axis": (2,)})
    assert not e.selects({"A": np.zeros(1, np.float32), "axis": 0})


def test_one_entry_may_name_several_backends(tmp_path: Path, specs: list[Spec]) -> None:
    reg = load(tmp_path, specs, ENTRY.replace("backend: numpy", "backend: [numpy, jax]"))
    assert [(e.id, e.backend) for e in reg.entries] == [("numpy-cumsum-0d", "numpy"),
                                                          ("numpy-cumsum-0d", "jax")]
    for backend in ("numpy", "jax"):
        assert [e.id for e in reg.for_cell("tensors/cumsum", "any_axis", backend)] == [
            "numpy-cumsum-0d"]
    assert reg.for_cell("tensors/cumsum", "any_axis", "torch") == []


@pytest.mark.parametrize(("backend", "message"), [
    ("3", r"reg\.yaml: \[0\]\.backend: expected a backend name or a list of backend names, got 3"),
    ("[]", r"reg\.yaml: \[0\]\.backend: expected a backend name or a list of backend names, got \[\]"),
    ("[numpy, numpy]", r"reg\.yaml: \[0\]\.backend: expected a backend name or a list of backend "
                       r"names, got \['numpy', 'numpy'\]"),
])
def test_a_bad_backend_field_says_what_is_expected(
    tmp_path: Path, specs: list[Spec], backend: str, message: str
) -> None:
    with pytest.raises(SpecError, match=message):
        load(tmp_path, specs, ENTRY.replace("backend: numpy", f"backend: {backend}"))


def test_an_unknown_backend_in_a_list_names_its_position(tmp_path: Path, specs: list[Spec]) -> None:
    reg = load(tmp_path, specs, ENTRY.replace("backend: numpy", "backend: [numpy, pytorch]"))
    with pytest.raises(SpecError, match=r"reg\.yaml: \[0\] \(numpy-cumsum-0d\)\.backend\[1\]: "
                                        r"no backend 'pytorch'"):
        reg.check_backends({"numpy", "torch"})
    reg.check_backends({"numpy", "pytorch"})
    # array-api:MODULE names any Array API namespace: always a known backend
    load(tmp_path, specs, ENTRY.replace("backend: numpy", "backend: array-api:numpy"),
         "other.yaml").check_backends({"numpy"})


def test_several_registries_add_up_and_an_id_is_unique_across_them(
    tmp_path: Path, specs: list[Spec]
) -> None:
    builtin = tmp_path / "divergences"
    builtin.mkdir()
    (builtin / "a.yaml").write_text(ENTRY, encoding="utf-8")
    mine = tmp_path / "mine.yaml"
    mine.write_text(ENTRY.replace("numpy-cumsum-0d", "mine"), encoding="utf-8")
    reg = divergences.load([builtin, mine, tmp_path / "absent.yaml"], specs)
    assert [e.id for e in reg.entries] == ["numpy-cumsum-0d", "mine"]
    mine.write_text(ENTRY, encoding="utf-8")
    with pytest.raises(SpecError, match=r"mine\.yaml: \[0\] \(numpy-cumsum-0d\): duplicate divergence "
                                        r"id \(also in .*a\.yaml\)"):
        divergences.load([builtin, mine], specs)


def test_the_shipped_registry_has_no_two_identical_entries_but_for_the_backend() -> None:
    """jax and jax-x64 share entries that say the same (backend: [jax, jax-x64])."""
    from tests.conftest import SPECS

    specs = load_all(SPECS)[0]
    reg = divergences.load(SPECS / "divergences", specs)
    seen: dict[tuple[object, ...], str] = {}
    for e in reg.entries:
        key = (e.spec, e.cases, tuple(sorted(e.when.items())), e.outputs, e.problems, e.reason,
               e.link, e.compiled)
        assert seen.setdefault(key, e.id) == e.id, f"{e.id} repeats {seen[key]}"
    shared = [e.id for e in reg.entries if e.backend == "jax-x64" and e.id.startswith("jax-")
              and not e.id.startswith("jax-x64-")]
    assert "jax-grad-abs-at-zero" in shared


GRADIENT_ENTRY = """
- id: numpy-cumsum-grad
  backend: numpy
  spec: tensors/cumsum
  cases: [any_axis]
  gradient: true
  outputs: [A.grad]
  reason: a gradient entry
"""


def test_a_gradient_entry_applies_to_the_gradient_cell_of_its_case_only(
        tmp_path: Path, specs: list[Spec]) -> None:
    reg = load(tmp_path, specs, GRADIENT_ENTRY)
    (e,) = reg.entries
    assert e.gradient
    assert reg.for_cell("tensors/cumsum", "any_axis/gradient", "numpy") == [e]
    assert reg.for_cell("tensors/cumsum", "any_axis", "numpy") == []
    assert reg.for_cell("tensors/cumsum", "other/gradient", "numpy") == []
    forward = load(tmp_path, specs, ENTRY, "forward.yaml")
    assert forward.for_cell("tensors/cumsum", "any_axis/gradient", "numpy") == []


def test_a_gradient_entry_explains_the_gradient_of_its_output_not_any_output() -> None:
    e = entry(outputs=("A",), gradient=True)
    assert e.explains(Mismatch("A.grad along v = A", "value", "1", "2"))
    assert not e.explains(Mismatch("B.grad along v = B", "value", "1", "2"))
    # an entry for the forward cells reads outputs only as themselves
    assert not entry(outputs=("A",)).explains(Mismatch("A.grad along v = A", "value", "1", "2"))
