"""Bad inputs to the group families: refused with a clear error, never truncated or misread."""

import numpy as np
import pytest
import torch

from geomlayers.groups import (
    SL,
    AlternatingGroup,
    AutomorphismGroup,
    EuclideanGroup,
    GLPlus,
    OrthogonalGroup,
    PermutationGroup,
    PseudoOrthogonal,
    SpecialOrthogonalGroup,
    SymmetricGroup,
    SymplecticGroup,
    parse_group,
)

N_FAMILIES = [SymmetricGroup, AlternatingGroup, OrthogonalGroup, SpecialOrthogonalGroup, GLPlus,
              SL, EuclideanGroup]


@pytest.mark.parametrize("family", N_FAMILIES, ids=lambda f: f.__name__)
def test_numpy_integers_are_ints(family):
    group = family(np.int64(3))
    assert group == family(3) and hash(group) == hash(family(3))
    assert type(group.n) is int and str(group) == str(family(3))


def test_numpy_integers_elsewhere():
    assert SymplecticGroup(np.int32(4)) == SymplecticGroup(4)
    assert PseudoOrthogonal(np.int64(1), np.int64(3)) == PseudoOrthogonal(1, 3)
    assert SymmetricGroup(4).sample(np.int64(2), generator=np.int64(0)).shape == (2, 4, 4)
    assert PermutationGroup(np.array([[1, 2, 0]])) == PermutationGroup([(1, 2, 0)])
    assert AutomorphismGroup(np.array([[0, 1], [1, 2]]).T, num_nodes=np.int64(3)).n == 3


@pytest.mark.parametrize("family", N_FAMILIES + [SymplecticGroup], ids=lambda f: f.__name__)
@pytest.mark.parametrize("value, error", [(True, TypeError), (4.0, TypeError), ("4", TypeError),
                                          (0, ValueError), (-2, ValueError)])
def test_bad_sizes_are_refused(family, value, error):
    with pytest.raises(error, match="must be"):
        family(value)


def test_float_size_message_says_what_to_pass():
    with pytest.raises(TypeError, match=r"pass 5, not 5\.0"):
        SymmetricGroup(5.0)


@pytest.mark.parametrize("args", [(0, 0, 0), (-1, 2), (1.0, 2), (True, 1)])
def test_pseudo_orthogonal_refuses(args):
    with pytest.raises((TypeError, ValueError), match="must be"):
        PseudoOrthogonal(*args)


def test_float_edge_index_is_not_truncated():
    with pytest.raises(ValueError, match="non-integral value 1.5"):
        AutomorphismGroup(torch.tensor([[0.0, 1.5], [1.0, 2.0]]))
    with pytest.raises((TypeError, ValueError), match="must be an int"):
        AutomorphismGroup([(0, 1.5), (1, 2)])
    with pytest.raises(TypeError, match="edge"):
        AutomorphismGroup([(0.0, 1.0)])
    # integral floats (as read from a text file by numpy) are exact and accepted
    cycle = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
    assert AutomorphismGroup(cycle.double()) == AutomorphismGroup(cycle)
    with pytest.raises(ValueError, match="non-integral"):
        AutomorphismGroup(torch.tensor([[0.0, float("nan")], [1.0, 2.0]]))


def test_float_generators_are_refused():
    with pytest.raises(TypeError, match="int"):
        PermutationGroup([(1.0, 0.0, 2.0)])
    with pytest.raises((TypeError, ValueError)):
        PermutationGroup([(1.5, 0, 2)])
    with pytest.raises(ValueError, match="non-integral"):
        PermutationGroup(torch.tensor([[1.5, 0.0, 2.0]]))
    with pytest.raises(TypeError, match="str"):
        PermutationGroup("(0 1 2)")


def test_bad_sample_counts():
    group = OrthogonalGroup(3)
    with pytest.raises(ValueError, match="m .* must be an int >= 1"):
        group.sample(0)
    with pytest.raises(TypeError, match="m .* must be an int"):
        group.sample(2.0)
    with pytest.raises(TypeError, match="m .* must be an int"):
        group.sample(True)


def test_translation_scale_must_be_finite_positive():
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="translation_scale"):
            EuclideanGroup(3, translation_scale=bad)


def test_parse_group_refuses_non_strings_and_names_the_forms():
    with pytest.raises(TypeError, match="group must be a str"):
        parse_group(5)
    with pytest.raises(ValueError, match="use S<n>"):
        parse_group("Q7")


def test_act_refuses_wrong_shapes_and_types():
    group = EuclideanGroup(3)
    g = group.sample(1)[0]
    with pytest.raises(ValueError, match="d=3"):
        group.act_points(g, torch.randn(4, 2, dtype=torch.float64))
    with pytest.raises(TypeError, match="x must be a tensor"):
        group.act(g, [1.0, 2.0, 3.0], "points")
    with pytest.raises(ValueError, match="does not act|unknown representation"):
        group.act(g, torch.zeros(3), "spinors")
