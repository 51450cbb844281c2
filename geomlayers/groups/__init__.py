"""Groups and their actions: the abstraction every part of geomlayers speaks.

A :class:`Group` samples elements as ``(m, n, n)`` matrices and acts on tensors through a
:class:`Representation` value (``group.act(g, x, rep)``); every group prints as a short
string that :func:`parse_group` reads back (``parse_group(str(g)) == g``). See
``docs/architecture.md``.
"""

from geomlayers.groups.affine import SL, Affine, GLPlus, GroupSamples
from geomlayers.groups.base import Group, act
from geomlayers.groups.euclidean import EuclideanGroup, SpecialEuclideanGroup, TranslationGroup
from geomlayers.groups.graph import AutomorphismGroup
from geomlayers.groups.images import Images, LiftedImages
from geomlayers.groups.orthogonal import OrthogonalGroup, SpecialOrthogonalGroup
from geomlayers.groups.parse import parse_group, register_family
from geomlayers.groups.permutation import (
    AlternatingGroup,
    FinitePermutationGroup,
    PermutationGroup,
    SymmetricGroup,
    permutation_matrices,
)
from geomlayers.groups.pseudo_orthogonal import PseudoOrthogonal
from geomlayers.groups.representations import (
    Congruence,
    Multivectors,
    Points,
    Representation,
    Subspaces,
    TensorPower,
    Trivial,
    Vectors,
    as_representation,
    join_homogeneous,
    parse_representation,
    parse_representations,
    split_homogeneous,
)
from geomlayers.groups.symplectic import SymplecticGroup, symplectic_form

__all__ = [
    "Group",
    "act",
    "SymmetricGroup",
    "AlternatingGroup",
    "PermutationGroup",
    "AutomorphismGroup",
    "FinitePermutationGroup",
    "OrthogonalGroup",
    "SpecialOrthogonalGroup",
    "PseudoOrthogonal",
    "EuclideanGroup",
    "SpecialEuclideanGroup",
    "TranslationGroup",
    "SymplecticGroup",
    "symplectic_form",
    "GLPlus",
    "SL",
    "Affine",
    "GroupSamples",
    "parse_group",
    "register_family",
    "permutation_matrices",
    "Representation",
    "Trivial",
    "TensorPower",
    "Vectors",
    "Points",
    "Congruence",
    "Subspaces",
    "Multivectors",
    "Images",
    "LiftedImages",
    "parse_representation",
    "parse_representations",
    "as_representation",
    "split_homogeneous",
    "join_homogeneous",
]
