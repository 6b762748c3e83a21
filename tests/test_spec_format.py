"""What a spec loads into, and what each kind of bad input says (conformance/spec.py).

tests/test_spec_loading.py covers the cases' code and the schema; this file covers the
rest of the format: the claim inventory, unreadable files, the doctest examples'
steps, the fields a case carries, which files are specs, and the exact wording of the
errors that name file, place and expectation.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tensor_conformance.spec import SpecError, load_all, load_claims, load_spec, read_yaml, spec_files
from tests.conftest import CUMSUM


def write(specs_dir: Path, text: str, name: str = "tensors/example.yaml") -> Path:
    path = specs_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def error_of(specs_dir: Path, text: str) -> SpecError:
    path = write(specs_dir, text)
    with pytest.raises(SpecError) as info:
        load_all(specs_dir)
    assert info.value.path == str(path)
    return info.value


# -- the error itself ------------------------------------------------------------------------

def test_a_spec_error_reads_path_place_message() -> None:
    e = SpecError(Path("specs/a.yaml"), "cases[0]", "bad")
    assert (e.path, e.where, e.message) == ("specs/a.yaml", "cases[0]", "bad")
    assert str(e) == "specs/a.yaml: cases[0]: bad"
    assert str(SpecError("specs/a.yaml", "", "bad")) == "specs/a.yaml: bad"
    assert isinstance(e, ValueError)


def test_schema_errors_name_the_field_path(specs_dir: Path) -> None:
    e = error_of(specs_dir, CUMSUM.replace("min_dims: 1}", "min_dims: one}"))
    assert e.where == "cases[0].given.A.array.min_dims"
    e = error_of(specs_dir, CUMSUM.replace("title: cumsum", "titel: x\ntitle: cumsum"))
    assert e.where == "(top level)"


def test_an_unknown_key_lists_the_allowed_ones(specs_dir: Path) -> None:
    e = error_of(specs_dir, CUMSUM.replace("  - id: any_axis\n", "  - id: any_axis\n    colour: red\n"))
    assert e.where == "cases[0]"
    assert "'colour' was unexpected" in e.message
    assert e.message.endswith("; allowed keys here: agree, claims, code, compiled, given, holds, "
                              "id, raises, why")


def test_an_unknown_key_where_no_key_is_allowed_is_a_spec_error(specs_dir: Path) -> None:
    """``booleans: {}`` takes no keys at all (its schema lists no properties)."""
    e = error_of(specs_dir, CASE.replace("      dtype: {dtypes: [float32]}\n",
                                         "      dtype: {dtypes: [float32]}\n      b: {booleans: {x: 1}}\n"))
    assert e.where == "cases[0].given.b.booleans"
    assert e.message.startswith("Additional properties are not allowed ('x' was unexpected)")


# -- reading files ---------------------------------------------------------------------------

def read_error(path: Path) -> SpecError:
    """The error reading ``path``: it names the file and no place in it."""
    with pytest.raises(SpecError) as info:
        read_yaml(path)
    assert (info.value.path, info.value.where) == (str(path), "")
    assert str(info.value) == f"{path}: {info.value.message}"
    return info.value


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    assert read_error(tmp_path / "nope.yaml").message == "no such file"


def test_an_unreadable_file_says_why(tmp_path: Path) -> None:
    assert read_error(tmp_path).message == "cannot read: Is a directory"  # a folder


def test_bad_utf8_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_bytes(b"title: caf\xe9\n")
    assert read_error(path).message == "not UTF-8 text (byte 10: invalid continuation byte)"


def test_bad_yaml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("title: [unclosed\n", encoding="utf-8")
    message = read_error(path).message
    assert message.startswith("not valid YAML: while parsing a flow sequence in "
                              '"<unicode string>", line 1, column 8: title: [unclosed ^')
    assert "\n" not in message and "  " not in message


def test_a_non_mapping_spec_is_rejected(specs_dir: Path) -> None:
    e = error_of(specs_dir, "- just\n- a list\n")
    assert (e.where, e.message) == ("", "expected a mapping with title, claims, examples/cases")


# -- the claim inventory --------------------------------------------------------------------

def test_claims_load_with_group_section_and_example(tmp_path: Path) -> None:
    path = tmp_path / "claims.yaml"
    path.write_text("tensors:\n  - {id: T1, section: 2, claim: a claim, example: x.sum()}\n"
                    "calculus:\n  - {id: C1, section: '3.1', claim: another}\n", encoding="utf-8")
    claims = load_claims(path)
    assert list(claims) == ["T1", "C1"]
    t1, c1 = claims["T1"], claims["C1"]
    assert (t1.id, t1.group, t1.section, t1.claim, t1.example) == ("T1", "tensors", "2", "a claim",
                                                                    "x.sum()")
    assert (c1.group, c1.section, c1.example) == ("calculus", "3.1", None)


@pytest.mark.parametrize(("text", "where", "message"), [
    ("- T1\n", "", "expected a mapping: group -> list of claims"),
    ("tensors: T1\n", "tensors", "expected a list of claims"),
    ("tensors:\n  - T1\n", "tensors[0]", "expected a mapping with id, section, claim"),
    ("tensors:\n  - {id: T1, section: 1, claim: c}\n  - {section: 1, claim: c}\n", "tensors[1]",
     "missing key 'id'"),
    ("tensors:\n  - {id: T1, claim: c}\n", "tensors[0]", "missing key 'section'"),
    ("tensors:\n  - {id: T1, section: 1}\n", "tensors[0]", "missing key 'claim'"),
])
def test_a_bad_claim_inventory_names_the_place(tmp_path: Path, text: str, where: str,
                                               message: str) -> None:
    path = tmp_path / "claims.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_claims(path)
    assert (info.value.path, info.value.where, info.value.message) == (str(path), where, message)


# -- examples -------------------------------------------------------------------------------

def test_an_examples_steps(specs_dir: Path) -> None:
    text = CUMSUM.replace("exact_dtypes", "x").replace(
        "  - id: notes\n", "  - id: notes\n    why: the notes print it\n    exact_dtypes: true\n")
    path = write(specs_dir, text)
    spec = load_spec(path, specs_dir)
    (example,) = spec.examples
    assert example.id == "notes" and example.why == "the notes print it" and example.exact_dtypes
    first, second = example.steps
    assert (first.line, first.has_output, first.text, first.printed) == (1, False, "", None)
    assert (second.line, second.has_output) == (2, True)
    assert second.text == "tensor([[0., 1.],\n        [2., 4.],\n        [6., 9.]])"
    assert second.printed is not None
    assert example.source.startswith(">>> A = torch.arange(6")
    assert example.claims == ("T20",)


def test_exact_dtypes_defaults_to_false(specs_dir: Path) -> None:
    write(specs_dir, CUMSUM)
    (spec,), _ = load_all(specs_dir)
    assert spec.examples[0].exact_dtypes is False and spec.examples[0].why is None


def test_an_examples_needs_and_operations_are_its_steps(specs_dir: Path) -> None:
    doctest = ("      >>> x = torch.arange(3.0, requires_grad=True)\n"
               "      >>> y = x.sum()\n      >>> y.backward()\n      >>> x.grad\n"
               "      tensor([1., 1., 1.])\n")
    text = CUMSUM.replace(CUMSUM[CUMSUM.index("      >>> A"):CUMSUM.index("cases:")], doctest)
    write(specs_dir, text)
    (spec,), _ = load_all(specs_dir)
    example = spec.examples[0]
    assert example.needs == {"autograd"}
    assert example.operations >= {"requires_grad", "backward", "grad"}
    assert len(example.steps) == 4


@pytest.mark.parametrize(("doctest", "where", "message"), [
    ("      no prompt here\n", "examples[0] (notes).doctest", "no '>>> ' lines found"),
    ("      >>>x = 1\n", "examples[0] (notes).doctest", "line 1 of the docstring"),
    ("      >>> x = torch.arange(3)\n      >>> x; x\n      (1, 2)\n",
     "examples[0] (notes).doctest line 2", "a line with printed output must be one expression"),
    ("      >>> x = torch.arange(3)\n      >>> x.sum(\n", "examples[0] (notes).doctest line 2",
     "code: "),
    ("      >>> x = torch.arange(3)\n      >>> x\n      tensor(<<>>)\n",
     "examples[0] (notes).doctest line 2", "cannot read printed output"),
    ("      >>> x = torch.arange(3)\n      >>> y\n", "examples[0] (notes).doctest line 2",
     "line 1: name 'y' is not defined: a program may use its drawn names (x)"),
    ("      >>> y\n", "examples[0] (notes).doctest line 1",
     "line 1: name 'y' is not defined: a program may use its drawn names (none), names it "
     "assigns before that line, def parameters, torch and the builtins len, id, abs, max, min"),
])
def test_a_bad_example_names_its_line(specs_dir: Path, doctest: str, where: str,
                                      message: str) -> None:
    text = CUMSUM.replace(CUMSUM[CUMSUM.index("      >>> A"):CUMSUM.index("cases:")], doctest)
    e = error_of(specs_dir, text)
    assert e.where == where
    assert message in e.message


@pytest.mark.parametrize(("doctest", "message"), [
    ("      no prompt here\n", "no '>>> ' lines found"),
    ("      >>> x = torch.arange(3)\n      >>> x; x\n      (1, 2)\n",
     "a line with printed output must be one expression"),
])
def test_a_bad_examples_message_is_exactly_the_rule(specs_dir: Path, doctest: str,
                                                    message: str) -> None:
    text = CUMSUM.replace(CUMSUM[CUMSUM.index("      >>> A"):CUMSUM.index("cases:")], doctest)
    assert error_of(specs_dir, text).message == message


def test_a_multi_line_step_names_the_line_of_the_step(specs_dir: Path) -> None:
    """An example's step is not a case: its second line is code, not a relation."""
    doctest = "      >>> if True:\n      ...     y\n"
    text = CUMSUM.replace(CUMSUM[CUMSUM.index("      >>> A"):CUMSUM.index("cases:")], doctest)
    e = error_of(specs_dir, text)
    assert e.where == "examples[0] (notes).doctest line 1"
    assert e.message.startswith("line 2: name 'y' is not defined")


def test_an_example_may_only_narrow_its_specs_claims(specs_dir: Path) -> None:
    e = error_of(specs_dir, CUMSUM.replace("  - id: notes\n", "  - id: notes\n    claims: [T21]\n"))
    assert (e.where, e.message) == ("examples[0] (notes).claims[0]",
                                    "'T21' is not one of the spec's claims (T20)")


# -- cases ----------------------------------------------------------------------------------

CASE = """
title: a case
claims: [T20, T21]
cases:
  - id: c
    given:
      dtype: {dtypes: [float32]}
      n: {integers: {min_value: 0, max_value: 3}}
      k: {integers: {min_value: n, max_value: 4}}
      shapes: {broadcastable_shapes: {num_shapes: 2}}
      A: {array: {dtype: dtype, shape: [n, k]}}
      B: {array: {dtype: float64, shape: shapes.0}}
      C: {array: {dtype: int32, shape: shapes}}
      axis: {axis_of: A}
    code: |
      A.cumsum(axis=axis)
      B.sum()
    holds:
      - "A.cumsum(axis=axis).shape == A.shape"
    agree:
      - ["B.sum()", "B.sum()"]
"""


def test_a_case_carries_its_fields(specs_dir: Path) -> None:
    text = CASE.replace("    code: |", "    raises: [B.sum()]\n    why: because\n"
                        "    compiled: true\n    claims: [T21]\n    code: |").replace(
        "cases:\n", "notes: where the claim comes from\ncases:\n")
    write(specs_dir, text)
    (spec,), _ = load_all(specs_dir)
    (case,) = spec.cases
    assert case.id == "c" and list(case.given) == list(case.given_spec) == [
        "dtype", "n", "k", "shapes", "A", "B", "C", "axis"]
    assert case.holds == ("A.cumsum(axis=axis).shape == A.shape",)
    assert case.agree == (("B.sum()", "B.sum()"),)
    assert case.raises == ("B.sum()",) and case.why == "because" and case.compiled is True
    assert case.claims == ("T21",) and spec.notes == "where the claim comes from"
    assert case.needs == {"compile"} and case.operations == frozenset()
    # the relations run as extra lines after the code, both sides of each agree pair
    assert case.program.outputs == ("A.cumsum(axis=axis)", "B.sum()",
                                    "A.cumsum(axis=axis).shape == A.shape", "B.sum()", "B.sum()")


def test_a_case_defaults(specs_dir: Path) -> None:
    write(specs_dir, CASE)
    (spec,), _ = load_all(specs_dir)
    (case,) = spec.cases
    assert (case.raises, case.why, case.compiled, case.claims) == ((), None, False, ("T20", "T21"))
    assert case.needs == frozenset()
    assert spec.title == "a case" and spec.claims == ("T20", "T21") and spec.notes == ""
    assert spec.examples == ()


@pytest.mark.parametrize(("change", "where", "message"), [
    (("k: {integers: {min_value: n,", "k: {integers: {min_value: m,"), "cases[0] (c).given.k",
     "refers to 'm', which is not drawn before it (drawn before: dtype, n)"),
    (("max_value: 4}}", "max_value: q}}"), "cases[0] (c).given.k", "refers to 'q'"),
    (("shape: [n, k]", "shape: [n, j]"), "cases[0] (c).given.A", "refers to 'j'"),
    (("shape: shapes.0", "shape: shape.0"), "cases[0] (c).given.B", "refers to 'shape.0'"),
    (("shape: shapes}", "shape: C}"), "cases[0] (c).given.C", "refers to 'C'"),
    (("dtype: dtype,", "dtype: A,"), "cases[0] (c).given.A", "refers to 'A'"),
    (("axis_of: A}", "axis_of: Z}"), "cases[0] (c).given.axis", "refers to 'Z'"),
    (("      dtype: {dtypes: [float32]}\n", ""), "cases[0] (c).given.A",
     "refers to 'dtype', which is not drawn before it (drawn before: n, k, shapes)"),
    (("n: {integers: {min_value: 0, max_value: 3}}", "n: {integers: {min_value: k, max_value: 3}}"),
     "cases[0] (c).given.n", "(drawn before: dtype)"),
])
def test_a_given_entry_may_only_refer_to_earlier_draws(specs_dir: Path, change: tuple[str, str],
                                                       where: str, message: str) -> None:
    old, new = change
    assert old in CASE
    e = error_of(specs_dir, CASE.replace(old, new, 1))
    assert e.where == where
    assert message in e.message


def test_the_first_entry_has_nothing_drawn_before_it(specs_dir: Path) -> None:
    text = CASE.replace("      dtype: {dtypes: [float32]}\n", "      dtype: {dtypes: [float32]}\n",
                        1).replace("n: {integers: {min_value: 0,", "n: {integers: {min_value: 0,")
    text = text.replace("    given:\n      dtype:", "    given:\n      z: {integers: {min_value: w, "
                        "max_value: 1}}\n      dtype:")
    e = error_of(specs_dir, text)
    assert (e.where, e.message) == ("cases[0] (c).given.z", "refers to 'w', which is not drawn "
                                                            "before it (drawn before: nothing)")


def test_literal_dtypes_and_numbers_are_not_references(specs_dir: Path) -> None:
    text = CASE.replace("dtype: dtype,", "dtype: bool,").replace("min_value: n,", "min_value: 1,")
    write(specs_dir, text)
    (spec,), _ = load_all(specs_dir)
    assert spec.cases[0].given_spec["A"] == {"array": {"dtype": "bool", "shape": ["n", "k"]}}


@pytest.mark.parametrize(("change", "where", "message"), [
    (("    holds:\n      - \"A.cumsum(axis=axis).shape == A.shape\"",
      "    holds:\n      - \"A.cumsum(axis=axis).shape ==\""),
     "cases[0] (c).code", "code: "),
    (("      B.sum()\n    holds", "      B.sum()\n    raises: [B.mean()]\n    holds"),
     "cases[0] (c).raises",
     "'B.mean()' is not a top-level line of the code (its lines: A.cumsum(axis=axis), B.sum(), "
     "A.cumsum(axis=axis).shape == A.shape, B.sum(), B.sum())"),
    (("      - [\"B.sum()\", \"B.sum()\"]", "      - [\"B.sum()\", \"Q.sum()\"]"),
     "cases[0] (c).code", "relation 'Q.sum()': name 'Q' is not defined"),
    (("    code: |", "    claims: [T20, T22]\n    code: |"), "cases[0] (c).claims[1]",
     "'T22' is not one of the spec's claims (T20, T21)"),
    (("      A.cumsum(axis=axis)\n      B.sum()\n", "      A.cumsum(axis=axis)\n      Q.sum()\n"),
     "cases[0] (c).code", "line 2: name 'Q' is not defined: a program may use its drawn names "
     "(A, B, C, axis, dtype, k, n, shapes)"),
])
def test_a_bad_case_names_its_field(specs_dir: Path, change: tuple[str, str], where: str,
                                    message: str) -> None:
    old, new = change
    assert old in CASE
    e = error_of(specs_dir, CASE.replace(old, new, 1))
    assert e.where == where
    assert message in e.message


def test_code_lines_are_counted_from_the_first_line_of_the_block(specs_dir: Path) -> None:
    """A leading blank line is line 1; the code's last line is code, whatever it ends with."""
    blank = CASE.replace("    code: |\n      A.cumsum", "    code: |\n\n      A.cumsum").replace(
        "      B.sum()\n    holds", "      Q.sum()\n    holds")
    e = error_of(specs_dir, blank)
    assert e.message.startswith("line 3: name 'Q' is not defined")
    last_x = CASE.replace("      B.sum()\n    holds", "      X\n    holds")
    e = error_of(specs_dir, last_x)
    assert e.message.startswith("line 2: name 'X' is not defined")


def test_the_codes_last_output_is_kept_whatever_it_ends_with(specs_dir: Path) -> None:
    write(specs_dir, CASE.replace("      B.sum()\n    holds", "      BX = B\n      BX\n    holds"))
    (spec,), _ = load_all(specs_dir)
    assert spec.cases[0].program.outputs[:2] == ("A.cumsum(axis=axis)", "BX")


def test_a_relation_that_is_not_code_on_its_own_is_named(specs_dir: Path) -> None:
    """An indented relation continues a ``def`` at the end of the code: the program
    parses, the relation alone does not."""
    text = CASE.replace("      A.cumsum(axis=axis)\n      B.sum()\n",
                        "      def f(a):\n        return a\n").replace(
        '      - "A.cumsum(axis=axis).shape == A.shape"', '      - "  f(A)"')
    e = error_of(specs_dir, text)
    assert (e.where, e.message) == ("cases[0] (c): relation '  f(A)'", "line 1: unexpected indent")


def test_an_unknown_claim_is_named_with_its_index(specs_dir: Path) -> None:
    e = error_of(specs_dir, CASE.replace("claims: [T20, T21]", "claims: [T20, T99]"))
    assert (e.where, e.message) == ("claims[1]", "unknown claim id 'T99' (see specs/claims.yaml)")


def test_a_spec_loads_without_an_inventory_to_check_against(specs_dir: Path) -> None:
    path = write(specs_dir, CASE.replace("claims: [T20, T21]", "claims: [T99]"))
    assert load_spec(path, specs_dir).claims == ("T99",)


def test_duplicate_ids_are_listed(specs_dir: Path) -> None:
    text = CUMSUM.replace("id: any_axis", "id: notes")
    e = error_of(specs_dir, text)
    assert (e.where, e.message) == ("", "example/case ids must be unique within a spec: ['notes']")


# -- which files are specs ------------------------------------------------------------------

def test_spec_files_are_the_yaml_files_but_the_inventory_and_the_registry(specs_dir: Path) -> None:
    for name in ("b/two.yaml", "a/one.yaml", "divergences/torch.yaml", "a/divergences/x.yaml",
                 "notes.txt", "top.yaml"):
        write(specs_dir, "x: 1\n", name)
    assert [p.relative_to(specs_dir).as_posix() for p in spec_files(specs_dir)] == [
        "a/one.yaml", "b/two.yaml", "top.yaml"]


def test_a_spec_id_is_its_path_under_the_root(specs_dir: Path) -> None:
    write(specs_dir, CUMSUM, "linear_algebra/deep/cumsum.yaml")
    write(specs_dir, CASE, "a.yaml")
    specs, claims = load_all(specs_dir)
    assert [s.id for s in specs] == ["a", "linear_algebra/deep/cumsum"]
    assert specs[1].path == specs_dir / "linear_algebra/deep/cumsum.yaml"
    assert "T20" in claims and claims["T20"].group


def test_a_missing_specs_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_all(tmp_path / "nope")
    assert (info.value.path, info.value.where, info.value.message) == (
        str(tmp_path / "nope"), "", "--specs: no such folder")
