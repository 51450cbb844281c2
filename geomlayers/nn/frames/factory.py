"""Frames from a group, a group name or a frame object."""

from __future__ import annotations

from geomlayers.groups.base import Group
from geomlayers.groups.parse import parse_group
from geomlayers.groups.permutation import SymmetricGroup
from geomlayers.nn.frames.elements import Frame
from geomlayers.nn.frames.pca import PCAFrame
from geomlayers.nn.frames.permutation import PermutationFrame

__all__ = ["make_frame"]

#: names of frames whose size is taken from the input (no group of a fixed size exists)
_SIZE_FREE = {
    "En": ("O", True),
    "On": ("O", False),
    "SOn": ("SO", False),
    "SEn": ("SO", True),
    "Tn": ("none", True),
    "translations": ("none", True),
}


def make_frame(frame: Group | str | Frame, **kwargs) -> Frame:
    """The frame of a group, a group name or a frame object.

    Groups: ``EuclideanGroup(d)``, ``SpecialEuclideanGroup(d)``, ``TranslationGroup(d)``,
    ``OrthogonalGroup(d)``, ``SpecialOrthogonalGroup(d)`` (PCA frames) and
    ``SymmetricGroup(n)`` (graph frames). Names are read by
    :func:`geomlayers.groups.parse_group` (``"E3"``, ``"SO3"``, ``"T2"``, ``"S10"``, …);
    besides, ``"En"``, ``"On"``, ``"SOn"``, ``"SEn"``, ``"Tn"``, ``"translations"`` and
    ``"Sn"`` name frames whose size is taken from the input. ``kwargs`` go to the frame.

    >>> make_frame("SO3")
    PCAFrame(d=3, linear='SO', translation=False, gap_tol=None, on_degenerate='resolve')
    """
    if isinstance(frame, Frame):
        if kwargs:
            raise TypeError("frame options apply to groups and names only; configure the frame "
                            "object itself")
        return frame
    if isinstance(frame, str):
        if frame == "Sn":
            return PermutationFrame(**kwargs)
        if frame in _SIZE_FREE:
            linear, translation = _SIZE_FREE[frame]
            return PCAFrame(None, linear=linear, translation=translation, **kwargs)
        try:
            frame = parse_group(frame)
        except ValueError as error:
            raise ValueError(f"unknown frame {frame!r}: give a group or its name ('E3', 'O3', "
                             "'SO3', 'SE3', 'T3', any d; 'S<n>'), a size-free name ('En', "
                             "'On', 'SOn', 'SEn', 'Tn', 'translations', 'Sn') or a Frame"
                             ) from error
    if isinstance(frame, SymmetricGroup):
        return PermutationFrame(n=frame.n, **kwargs)
    if isinstance(frame, Group):
        return PCAFrame.for_group(frame, **kwargs)
    raise TypeError(f"frame must be a Group, a group name (str) or a Frame, got "
                    f"{type(frame).__name__}")
