"""Reading the notes' printed PyTorch output back as expected values."""

from __future__ import annotations

import pytest

from tensor_conformance.printed import PrintedError, PrintedNumber, PrintedTensor, parse


def test_a_float_tensor_with_its_printed_precision() -> None:
    t = parse("tensor([0.5000, 1.0000, 2.0000, 4.0000])")
    assert isinstance(t, PrintedTensor)
    assert (t.shape, t.kind, t.role()) == ((4,), "float", "default_float")
    assert t.values[0] == PrintedNumber(0.5, 0.5e-4)


def test_integral_floats_are_exact_and_scientific_notation_scales() -> None:
    t = parse("tensor([2.7183e+00, 2.9810e+03, 66.])")
    assert isinstance(t, PrintedTensor)
    assert [v.half_unit for v in t.values] == pytest.approx([0.5e-4, 0.05, 0.0])


def test_tuples_sizes_scalars_and_grad_fn() -> None:
    out = parse("(tensor([40., 45.]), torch.Size([4]))")
    assert isinstance(out, tuple)
    assert out[1] == (PrintedNumber(4, 0.0),)
    t = parse("tensor(28., grad_fn=<MulBackward0>)")
    assert isinstance(t, PrintedTensor) and t.shape == ()
    assert parse("12") == PrintedNumber(12, 0.0)
    assert parse("True") == PrintedNumber(True, 0.0)


def test_dtypes_and_kinds() -> None:
    assert parse("tensor([0, 1, 2])").role() == "default_int"  # type: ignore[union-attr]
    assert parse("tensor([False,  True])").role() == "bool"  # type: ignore[union-attr]
    assert parse("tensor([1, 2], dtype=torch.int32)").role() == "int32"  # type: ignore[union-attr]
    multi = parse("tensor([[ 6.],\n        [22.]])")
    assert isinstance(multi, PrintedTensor) and multi.shape == (2, 1)


def test_unreadable_output_is_an_error() -> None:
    with pytest.raises(PrintedError):
        parse("tensor([1, 2)")
    with pytest.raises(PrintedError):
        parse("array([1, 2])")
