"""The :class:`Basis` container: the elements of one ``(group, k, l)`` in a fixed order."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch

from geomlayers.bases.checks import content_problem
from geomlayers.bases.io import make_record, read_file, read_record, write_file
from geomlayers.groups.base import Group
from geomlayers.ops.dispatch import apply_weighted, build_program

__all__ = ["Basis", "DEFAULT_MAX_DENSE_ENTRIES"]

#: ``dense()`` refuses to allocate more entries than this unless told otherwise.
DEFAULT_MAX_DENSE_ENTRIES = 50_000_000


class Basis(Sequence):
    """Elements spanning ``Hom_G((R^n)^{⊗k}, (R^n)^{⊗l})``, in a fixed documented order.

    Args:
        group: the group.
        k: input order.
        l: output order.
        elements: the elements; each has ``tensor(n)`` (and, for diagram types, ``entries``).
        kind: how they were made (``"diagram"``, ``"orbit"``, ``"bilabelled"``, ``"numeric"``).
        is_basis: ``True`` when the elements are linearly independent (``len == dim``).

    ``len(basis)`` is the number of elements; for ``is_basis`` it equals
    ``dim Hom_G((R^n)^{⊗k}, (R^n)^{⊗l})``. Indexing gives the elements, which print as
    their diagrams.

    """

    def __init__(
        self,
        group: Group,
        k: int,
        l: int,  # noqa: E741
        elements: Sequence,
        *,
        kind: str,
        is_basis: bool,
        dense_tensors: torch.Tensor | None = None,
    ):
        self.group = group
        self.k = k
        self.l = l
        self.elements = tuple(elements)
        self.kind = kind
        self.is_basis = is_basis
        self._dense_tensors = dense_tensors  # numeric bases carry their tensors

    @property
    def n(self) -> int:
        """Dimension of the defining representation."""
        return self.group.n

    def __len__(self) -> int:
        return len(self.elements)

    def __getitem__(self, index):
        return self.elements[index]

    def __iter__(self) -> Iterator:
        return iter(self.elements)

    def __repr__(self) -> str:
        what = "basis" if self.is_basis else "spanning set"
        return (
            f"Basis({self.group}, k={self.k}, l={self.l}, kind={self.kind!r}: "
            f"{len(self)} elements, a {what})"
        )

    def describe(self, limit: int = 20) -> str:
        """Multi-line listing of the elements (each as its diagram)."""
        lines = [repr(self)]
        for index, element in enumerate(self.elements[:limit]):
            lines.append(f"  {index:>4}: {element}")
        if len(self) > limit:
            lines.append(f"  ... {len(self) - limit} more")
        return "\n".join(lines)

    def plot(self, max_elements: int = 12, ncols: int = 4):
        """Draw the first ``max_elements`` diagrams on a grid; returns the matplotlib Figure.

        See :func:`geomlayers.diagrams.plot.plot_basis` (needs matplotlib; diagram bases only).
        """
        from geomlayers.diagrams.plot import plot_basis

        return plot_basis(self, max_elements=max_elements, ncols=ncols)

    # -- files ----------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the basis to ``path`` (``.json``): group, orders, kind and elements in order.

        The format (``geomlayers-basis`` version 1, docs/bases.md) is plain JSON with a
        SHA-256 checksum, never pickle; :meth:`load` reads it back to an equal basis (same
        group via its string, same elements, same order). The file is written atomically.

        Raises:
            ValueError: for a name not ending in ``.json``.

        """
        record = make_record(self.group, self.k, self.l, self.kind, self.is_basis,
                             self.elements, tensors=self._dense_tensors)
        return write_file(record, path)

    @classmethod
    def load(cls, path: str | Path, group: Group | None = None) -> Basis:
        """Read a basis written by :meth:`save`.

        Args:
            path: a ``.json`` basis file.
            group: the expected group (its string must match the file's); default: the
                file's group, rebuilt by :func:`~geomlayers.groups.parse_group`.

        Raises:
            ValueError: naming the file, when it is not a valid basis file (unknown
                extension, another format or version, checksum mismatch, elements that are
                not a basis of the stated group and orders).

        """
        record = read_file(path)
        try:
            group, k, l, kind, is_basis, elements, tensors = read_record(record, group)  # noqa: E741
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}: not a valid basis file ({error})") from error
        problem = content_problem(group, k, l, elements, spanning=not is_basis,
                                  is_basis=is_basis, canonical=False)
        if problem:
            raise ValueError(f"{path}: the elements are not a basis of {group}, k={k}, "
                             f"l={l} ({problem})")
        return cls(group, k, l, elements, kind=kind, is_basis=is_basis, dense_tensors=tensors)

    # -- materialisation (tests, small sizes) -------------------------------------------
    def _element_tensor(self, index: int, dtype: torch.dtype) -> torch.Tensor:
        if self._dense_tensors is not None:
            return self._dense_tensors[index].to(dtype)
        element = self.elements[index]
        adjacency = getattr(self.group, "adjacency", None)
        if hasattr(element, "homomorphism_tensor"):
            return element.homomorphism_tensor(adjacency().to(dtype))
        return element.tensor(self.n, dtype)

    def dense(
        self, dtype: torch.dtype = torch.float64, max_entries: int = DEFAULT_MAX_DENSE_ENTRIES
    ) -> torch.Tensor:
        """All elements as dense matrices ``(len, n^l, n^k)`` — for tests and small sizes.

        Raises:
            ValueError: when ``len * n^(k+l)`` exceeds ``max_entries`` (raise it explicitly).

        """
        n, k, l = self.n, self.k, self.l
        entries = len(self) * n ** (k + l)
        if entries > max_entries:
            raise ValueError(
                f"dense() would allocate {entries:,} entries ({len(self)} elements of "
                f"{n}^{k + l}); pass max_entries={entries} to allow it, or use sparse()/apply()"
            )
        if not len(self):
            return torch.zeros(0, n**l, n**k, dtype=dtype)
        return torch.stack(
            [self._element_tensor(i, dtype).reshape(n**l, n**k) for i in range(len(self))]
        )

    def sparse(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """All elements as one sparse COO tensor of shape ``(len, n^l, n^k)``."""
        n, k, l = self.n, self.k, self.l
        indices, values = [], []
        for position in range(len(self)):
            coords, vals = self._entries(position)
            rows = _flatten(coords[:, :l], n)
            cols = _flatten(coords[:, l:], n)
            indices.append(torch.stack([torch.full_like(rows, position), rows, cols]))
            values.append(vals.to(dtype))
        if not indices:
            return torch.sparse_coo_tensor(
                torch.zeros(3, 0, dtype=torch.int64), torch.zeros(0, dtype=dtype),
                (0, n**l, n**k), check_invariants=False,
            )
        return torch.sparse_coo_tensor(
            torch.cat(indices, dim=1), torch.cat(values), (len(self), n**l, n**k),
            check_invariants=False,
        ).coalesce()

    def _entries(self, position: int) -> tuple[torch.Tensor, torch.Tensor]:
        element = self.elements[position]
        if hasattr(element, "entries") and self._dense_tensors is None:
            return element.entries(self.n)
        tensor = self._element_tensor(position, torch.float64)
        coords = tensor.nonzero()
        return coords, tensor[tuple(coords.T)]

    @functools.cached_property
    def _sparse_matrices(self) -> tuple[torch.Tensor, ...]:
        stacked = self.sparse()
        return tuple(stacked[i].coalesce() for i in range(len(self)))

    # -- products -----------------------------------------------------------------------
    def apply(self, weights: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``Σ_i weights[i] · B_i x`` without forming any ``n^l x n^k`` dense matrix.

        Args:
            weights: ``(len,)``.
            x: ``(*batch, n, …, n)`` with ``k`` trailing axes of size ``n``.

        Returns:
            ``(*batch, n, …, n)`` with ``l`` trailing axes, through the one dispatch point
            :func:`geomlayers.ops.execute` (partition diagrams by their factored product,
            Brauer-type diagrams by theirs, other elements by index gathers and scatters).
            Integer ``x`` or ``weights`` are promoted to a floating dtype.

        """
        n, k = self.n, self.k
        if not isinstance(weights, torch.Tensor) or weights.shape != (len(self),):
            raise ValueError(f"weights must have shape ({len(self)},) (a tensor), got "
                             f"{tuple(getattr(weights, 'shape', ())) or weights!r}")
        if x.dim() < k or any(s != n for s in x.shape[x.dim() - k :]):
            raise ValueError(f"x must end in k={k} axes of size n={n}, got {tuple(x.shape)}")
        return apply_weighted(self._program, weights, x, n)

    @functools.cached_property
    def _program(self):
        """How :meth:`apply` runs each element (:func:`geomlayers.ops.build_program`)."""
        return build_program(self.elements, self.k, self.l, self.n, entries=self._entries)


def _flatten(coords: torch.Tensor, n: int) -> torch.Tensor:
    """Row-major flat index of ``(nnz, m)`` coordinates in base ``n``."""
    flat = torch.zeros(coords.shape[0], dtype=torch.int64)
    for axis in range(coords.shape[1]):
        flat = flat * n + coords[:, axis]
    return flat
