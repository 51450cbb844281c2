"""Groups and their actions: the abstraction every part of geomlayers speaks."""

from geomlayers.groups.affine import SL, Affine, GLPlus, GroupSamples
from geomlayers.groups.base import Group, act
from geomlayers.groups.euclidean import EuclideanGroup, SpecialEuclideanGroup, TranslationGroup
from geomlayers.groups.graph import AutomorphismGroup
from geomlayers.groups.orthogonal import OrthogonalGroup, SpecialOrthogonalGroup
from geomlayers.groups.parse import parse_group
from geomlayers.groups.permutation import (
    AlternatingGroup,
    FinitePermutationGroup,
    PermutationGroup,
    SymmetricGroup,
    permutation_matrices,
)
from geomlayers.groups.pseudo_orthogonal import PseudoOrthogonal
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
    "permutation_matrices",
]
