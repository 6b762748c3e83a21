"""Spec files: good ones load into frozen objects, bad ones give one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tensor_conformance.spec import SpecError, load_all, load_spec
from tests.conftest import CUMSUM

GOOD = CUMSUM


def write(specs_dir: Path, text: str, name: str = "tensors/example.yaml") -> Path:
    path = specs_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_spec_loads(specs_dir: Path) -> None:
    write(specs_dir, GOOD)
    specs, claims = load_all(specs_dir)
    (spec,) = specs
    assert spec.id == "tensors/example"
    assert spec.claims == ("T20",)
    (example,) = spec.examples
    assert [s.has_output for s in example.steps] == [False, True]
    (case,) = spec.cases
    assert case.program.outputs == ("A.cumsum(axis=axis)", "A.cumsum(axis=axis).shape == A.shape")
    assert "T20" in claims


@pytest.mark.parametrize(
    ("change", "where", "expected"),
    [
        (("claims: [T20]", "claims: [T99]"), "claims[0]", "unknown claim id 'T99'"),
        (("title: cumsum accumulates along an axis and keeps the shape\n", ""), "(top level)",
         "'title' is a required property"),
        (("    code: |", "    cod: |"), "cases[0]", "'cod'"),
        (("{dtypes: [float32, float64, int32, int64]}", "{dtypes: [float16]}"),
         "cases[0].given.dtype.dtypes[0]", "'float16' is not one of"),
        (("A.cumsum(axis=axis)\n    holds", "import os\n    holds"), "cases[0] (any_axis).code",
         "Import is outside the supported subset"),
        (("A.cumsum(axis=axis)\n    holds", "A.cumsum2(axis=axis)\n    holds"),
         "cases[0] (any_axis).code", ".cumsum2 is not a supported method"),
        (("{array: {dtype: dtype, min_dims: 1}}", "{array: {dtype: dtyp}}"),
         "cases[0] (any_axis).given.A", "refers to 'dtyp', which is not drawn before it"),
        (("      tensor([[0., 1.],", "      tensor([[0., 1.],)"), "examples[0] (notes).doctest",
         "cannot read printed output"),
        (("    holds:\n      - \"A.cumsum(axis=axis).shape == A.shape\"\n", ""), "cases[0]",
         "is not valid under any of the given schemas"),
        # names the interpreter cannot resolve: a load-time error, never "both raise"
        (("A.cumsum(axis=axis)\n    holds", "B.cumsum(axis=axis)\n    holds"),
         "cases[0] (any_axis).code", "line 1: name 'B' is not defined"),
        (("A.cumsum(axis=axis)\n    holds", "open('/etc/passwd')\n    holds"),
         "cases[0] (any_axis).code", "line 1: name 'open' is not defined"),
        (("A.cumsum(axis=axis)\n    holds", "x = 1\n      exec('x')\n    holds"),
         "cases[0] (any_axis).code", "line 2: name 'exec' is not defined"),
        (("A.cumsum(axis=axis)\n    holds", "getattr(A, 'cumsum')\n    holds"),
         "cases[0] (any_axis).code", "name 'getattr' is not defined"),
        (("A.cumsum(axis=axis)\n    holds", "__import__('os')\n    holds"),
         "cases[0] (any_axis).code", "name '__import__' is not defined"),
        (("A.cumsum(axis=axis)\n    holds", "__builtins__\n    holds"),
         "cases[0] (any_axis).code", "name '__builtins__' is not defined"),
        (("A.cumsum(axis=axis)\n    holds", "def f(a):\n        return a + b\n      f(A)\n    holds"),
         "cases[0] (any_axis).code", "line 2: name 'b' is not defined"),
        (("- \"A.cumsum(axis=axis).shape == A.shape\"", "- \"A.cumsum(axis=axis).shape == X.shape\""),
         "cases[0] (any_axis).code",
         "relation 'A.cumsum(axis=axis).shape == X.shape': name 'X' is not defined"),
        ((">>> A.cumsum(axis=0)", ">>> Z.cumsum(axis=0)"), "examples[0] (notes).doctest line 2",
         "name 'Z' is not defined"),
        # claims belong to items: an item may narrow its spec's list, never extend it
        (("    given:", "    claims: [T21]\n    given:"), "cases[0] (any_axis).claims[0]",
         "'T21' is not one of the spec's claims (T20)"),
    ],
)
def test_a_bad_spec_names_file_field_and_expectation(
    specs_dir: Path, change: tuple[str, str], where: str, expected: str
) -> None:
    old, new = change
    assert old in GOOD
    path = write(specs_dir, GOOD.replace(old, new, 1))
    with pytest.raises(SpecError) as info:
        load_all(specs_dir)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert where in message, message
    assert expected in message, message


def test_names_assigned_drawn_or_defined_resolve(specs_dir: Path) -> None:
    code = ("def total(a):\n        s = a.sum()\n        return s\n      B = A\n"
            "      if len(B.shape) > 0:\n        C = B.cumsum(axis=axis)\n      else:\n"
            "        C = B\n      C\n      total(C), max(axis, 0), torch.abs(B)\n")
    write(specs_dir, GOOD.replace("A.cumsum(axis=axis)\n    holds", code + "    holds", 1))
    (spec,), _ = load_all(specs_dir)
    assert spec.cases[0].program.outputs[0] == "C"


def test_an_item_narrows_its_specs_claims_or_keeps_them_all(specs_dir: Path) -> None:
    text = GOOD.replace("claims: [T20]", "claims: [T20, T21]").replace(
        "    given:", "    claims: [T21]\n    given:")
    write(specs_dir, text)
    (spec,), _ = load_all(specs_dir)
    assert spec.cases[0].claims == ("T21",)
    assert spec.examples[0].claims == ("T20", "T21")


def test_not_yaml_is_a_spec_error(specs_dir: Path) -> None:
    path = write(specs_dir, "title: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(path, specs_dir)


def test_duplicate_ids_are_rejected(specs_dir: Path) -> None:
    path = write(specs_dir, GOOD.replace("id: any_axis", "id: notes"))
    with pytest.raises(SpecError, match="unique"):
        load_spec(path, specs_dir)


def test_every_shipped_spec_loads_and_every_claim_is_covered() -> None:
    from tests.conftest import SPECS

    specs, claims = load_all(SPECS)
    covered = {c for s in specs for c in s.claims}
    assert set(claims) <= covered, f"claims without a spec: {sorted(set(claims) - covered)}"
    for spec in specs:
        for case in spec.cases:
            assert case.holds or case.agree or case.raises, f"{spec.id}/{case.id} checks nothing"
