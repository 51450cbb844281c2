"""The ``O(n)`` declaration shared by the SPD and Grassmann layers (``docs/architecture.md``)."""

from __future__ import annotations

from geomlayers.groups import OrthogonalGroup
from geomlayers.validation import check_int


def check_matrix_size(n: object) -> int | None:
    """``None`` or the matrix size ``n >= 1`` the layer declares its group with."""
    return None if n is None else check_int("n", n, minimum=1)


class DeclaresOrthogonalGroup:
    """``group`` is ``OrthogonalGroup(n)`` once the layer knows its matrix size ``n``.

    The layer sets ``self.n`` from its ``n=`` argument (``None``: undeclared, and reading
    ``group`` raises an ``AttributeError`` that names the argument).
    """

    n: int | None = None

    @property
    def group(self) -> OrthogonalGroup:
        """``O(n)``; needs the layer's ``n``."""
        if self.n is None:
            raise AttributeError(f"{type(self).__name__} was built without n=; pass n to "
                                 "declare its group O(n)")
        return OrthogonalGroup(self.n)
