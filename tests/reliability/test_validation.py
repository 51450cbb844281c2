"""geomlayers.validation: the one home of argument checks."""

import numpy as np
import pytest
import torch

from geomlayers.validation import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_int_sequence,
    check_integral_tensor,
)


@pytest.mark.parametrize("value", [5, np.int64(5), np.int32(5), np.uint8(5), torch.tensor(5)])
def test_integers_of_every_kind(value):
    result = check_int("n", value, minimum=1)
    assert result == 5 and type(result) is int


@pytest.mark.parametrize("value", [True, np.bool_(True), 5.0, np.float64(5.0), "5", None,
                                   torch.tensor(5.0), torch.tensor([5]), 5 + 0j])
def test_non_integers_are_refused_naming_the_argument(value):
    with pytest.raises(TypeError, match="^count must be an int"):
        check_int("count", value)


def test_ranges():
    with pytest.raises(ValueError, match="count must be an int >= 1, got 0"):
        check_int("count", 0, minimum=1)
    with pytest.raises(ValueError, match="<= 3"):
        check_int("count", 4, maximum=3)


def test_floats():
    assert check_float("scale", np.float32(0.5), positive=True) == 0.5
    assert check_float("scale", torch.tensor(2.0)) == 2.0
    for bad, error in ((True, TypeError), ("1", TypeError), (float("nan"), ValueError),
                       (float("inf"), ValueError), (0.0, ValueError)):
        with pytest.raises(error, match="scale"):
            check_float("scale", bad, positive=True)


def test_bool_and_choice():
    assert check_bool("flag", np.bool_(False)) is False
    with pytest.raises(TypeError, match="flag must be True or False"):
        check_bool("flag", 1)
    assert check_choice("mode", "a", ("a", "b")) == "a"
    with pytest.raises(ValueError, match="mode must be one of 'a', 'b', got 'c'"):
        check_choice("mode", "c", ("a", "b"))
    with pytest.raises(ValueError, match="mode"):
        check_choice("mode", ["unhashable"], ("a",))


def test_integral_tensors():
    out = check_integral_tensor("idx", np.array([[0.0, 2.0]]))
    assert out.dtype == torch.int64 and out.tolist() == [[0, 2]]
    for bad in ([[0.5, 1.0]], [float("inf")], [float("nan")]):
        with pytest.raises(ValueError, match="idx must hold integers"):
            check_integral_tensor("idx", torch.tensor(bad, dtype=torch.float64))
    with pytest.raises(ValueError, match="too large"):  # 1e30 would wrap around in int64
        check_integral_tensor("idx", torch.tensor([1e30], dtype=torch.float64))
    with pytest.raises(TypeError, match="dtype torch.bool"):
        check_integral_tensor("idx", torch.tensor([True]))
    with pytest.raises(ValueError, match="2 axes"):
        check_integral_tensor("idx", [1, 2], ndim=2)
    with pytest.raises(TypeError, match="idx must be a tensor"):
        check_integral_tensor("idx", [[1], [2, 3]])


def test_int_sequences():
    assert check_int_sequence("images", np.array([2, 0, 1])) == (2, 0, 1)
    assert check_int_sequence("images", torch.tensor([1, 0])) == (1, 0)
    with pytest.raises(TypeError, match=r"images\[1\] must be an int"):
        check_int_sequence("images", [0, 1.0])
    with pytest.raises(TypeError, match="sequence of ints"):
        check_int_sequence("images", "012")
