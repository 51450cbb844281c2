"""Frames from their names."""

from __future__ import annotations

import re

from geomlayers.nn.frames.elements import Frame
from geomlayers.nn.frames.pca import PCAFrame
from geomlayers.nn.frames.permutation import PermutationFrame

__all__ = ["make_frame"]

_NAMED = re.compile(r"^(E|O|SO|SE|T)(\d+|n)$")


def make_frame(frame: str | Frame, **kwargs) -> Frame:
    """A frame from its name or a frame object.

    Names: ``"E3"``, ``"O3"``, ``"SO3"``, ``"SE3"``, ``"T3"`` and any ``d`` (``"E2"``,
    ``"O5"``…), ``"En"``/``"On"``/``"SOn"``/``"SEn"``/``"Tn"`` (``d`` from the input),
    ``"translations"`` (= ``"Tn"``) and ``"Sn"`` (graphs). ``kwargs`` go to the frame.

    >>> make_frame("SO3")
    PCAFrame(d=3, linear='SO', translation=False, gap_tol=None, on_degenerate='resolve')
    """
    if isinstance(frame, Frame):
        if kwargs:
            raise TypeError("frame options apply to named frames only; configure the frame "
                            "object itself")
        return frame
    if not isinstance(frame, str):
        raise TypeError(f"frame must be a name (str) or a Frame, got {type(frame).__name__}")
    if frame == "Sn":
        return PermutationFrame(**kwargs)
    name = "Tn" if frame == "translations" else frame
    match = _NAMED.match(name)
    if match is None:
        raise ValueError(f"unknown frame {frame!r}: use 'E3', 'O3', 'SO3', 'SE3', 'T3' (any d), "
                         "'En', 'On', 'SOn', 'SEn', 'Tn', 'translations', 'Sn' or a Frame")
    kind, dim = match.groups()
    d = None if dim == "n" else int(dim)
    linear = {"E": "O", "O": "O", "SO": "SO", "SE": "SO", "T": "none"}[kind]
    return PCAFrame(d, linear=linear, translation=kind in ("E", "SE", "T"), **kwargs)
