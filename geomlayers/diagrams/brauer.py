"""Brauer, symplectic Brauer and Brauer–Grood diagrams (Pearce-Crump, arXiv 2212.08630).

Vertex labels as everywhere in geomlayers (``docs/diagrams.md``): ``l`` top vertices ``0..l-1``
(output indices ``i_1..i_l``), ``k`` bottom vertices ``l..l+k-1`` (input indices
``j_1..j_k``); an element's tensor has shape ``(n,)*(l+k)`` and its matrix is
``T.reshape(n**l, n**k)``. A pair of two top vertices is a *cup*, of two bottom vertices a
*cap*, of one of each a *through-strand*.

* O(n): a Brauer diagram β (a perfect matching of the ``k+l`` vertices) is the
  :class:`~geomlayers.diagrams.diagram.PartitionDiagram` whose blocks are its pairs:
  ``E_β[x] = Π_{{u,v}∈β} δ(x_u, x_v)`` (§2.3). :func:`brauer_diagrams` enumerates them.
* Sp(n): :class:`SymplecticBrauerDiagram` ``F_β``: through-strands ``δ``, caps (u < v)
  ``J[x_u, x_v]``, cups (u < v) ``J⁻¹[x_u, x_v] = -J[x_u, x_v]`` (§2.5), with ``J`` of
  :func:`~geomlayers.groups.symplectic.symplectic_form`.
* SO(n): :class:`BrauerGroodDiagram` ``H_α``: ``n`` free vertices ``f_1 < … < f_n`` (label
  order: top row first) carry one Levi-Civita symbol, the others are paired:
  ``H_α[x] = ε(x_{f_1}, …, x_{f_n}) Π δ(x_u, x_v)`` (§2.4). ``H_α`` changes sign under a
  reflection.

Enumeration order (fixed; it is the order of every basis built from these): perfect matchings
lexicographically (the smallest unmatched vertex is paired with each later vertex in increasing
order); Brauer–Grood diagrams by free set (lexicographic ``n``-subsets), then matching.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import torch

from geomlayers.diagrams.diagram import PartitionDiagram, dense_from_entries, permutation_signs
from geomlayers.diagrams.partitions import double_factorial
from geomlayers.diagrams.plot import plot_diagram

__all__ = [
    "perfect_matchings",
    "brauer_diagrams",
    "symplectic_brauer_diagrams",
    "brauer_grood_diagrams",
    "count_brauer",
    "count_brauer_grood",
    "SymplecticBrauerDiagram",
    "BrauerGroodDiagram",
    "MAX_LEVI_CIVITA_N",
    "contract",
]

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

#: largest ``n`` for which a Levi-Civita symbol is contracted (``n!`` terms; 9! = 362,880).
MAX_LEVI_CIVITA_N = 9

Pairs = tuple[tuple[int, int], ...]


def perfect_matchings(vertices: tuple[int, ...]) -> Iterator[Pairs]:
    """All perfect matchings of ``vertices`` in lexicographic order (none if odd).

    >>> list(perfect_matchings((0, 1, 2, 3)))
    [((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2))]
    """
    if not vertices:
        yield ()
        return
    if len(vertices) % 2:
        return
    first, rest = vertices[0], vertices[1:]
    for index, partner in enumerate(rest):
        remaining = rest[:index] + rest[index + 1 :]
        for tail in perfect_matchings(remaining):
            yield ((first, partner), *tail)


def count_brauer(r: int) -> int:
    """``(r - 1)!!`` Brauer diagrams on ``r`` vertices (0 for odd ``r``, 1 for ``r = 0``)."""
    return 0 if r % 2 else double_factorial(r - 1)


def count_brauer_grood(n: int, r: int) -> int:
    """``C(r, n) (r - n - 1)!!`` Brauer–Grood diagrams (0 unless ``r >= n``, ``r - n`` even)."""
    if r < n or (r - n) % 2:
        return 0
    return math.comb(r, n) * double_factorial(r - n - 1)


def brauer_diagrams(k: int, l: int) -> list[PartitionDiagram]:  # noqa: E741
    """The ``(k+l-1)!!`` Brauer diagrams as partition diagrams with blocks of size 2.

    >>> [str(d) for d in brauer_diagrams(1, 1)]
    ['D[a / a]']
    >>> len(brauer_diagrams(3, 3))
    15
    """
    return [PartitionDiagram(k=k, l=l, blocks=m) for m in perfect_matchings(tuple(range(k + l)))]


def symplectic_brauer_diagrams(
    k: int, l: int, form: str = "interleaved"  # noqa: E741
) -> list[SymplecticBrauerDiagram]:
    """The ``(k+l-1)!!`` symplectic Brauer diagrams ``F_β`` (same order as Brauer)."""
    return [
        SymplecticBrauerDiagram(k=k, l=l, blocks=m, form=form)
        for m in perfect_matchings(tuple(range(k + l)))
    ]


def brauer_grood_diagrams(n: int, k: int, l: int) -> list[BrauerGroodDiagram]:  # noqa: E741
    """The ``C(k+l, n)(k+l-n-1)!!`` diagrams ``H_α`` of SO(n) (free sets lexicographic)."""
    r = k + l
    out = []
    for free in itertools.combinations(range(r), n):
        rest = tuple(v for v in range(r) if v not in free)
        for matching in perfect_matchings(rest):
            out.append(BrauerGroodDiagram(k=k, l=l, blocks=matching, free=free))
    return out


@functools.lru_cache(maxsize=64)
def permutation_table(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All permutations of ``range(n)`` ``(n!, n)`` (lexicographic) and their signs ``(n!,)``."""
    check_levi_civita(n)
    perms = torch.tensor(list(itertools.permutations(range(n))), dtype=torch.int64)
    perms = perms.reshape(-1, n)
    return perms, permutation_signs(perms)


def check_levi_civita(n: int) -> None:
    """Refuse Levi-Civita contractions above :data:`MAX_LEVI_CIVITA_N` (``n!`` terms)."""
    if n > MAX_LEVI_CIVITA_N:
        raise ValueError(
            f"a Levi-Civita symbol in dimension n={n} has n! terms; geomlayers contracts it for "
            f"n <= MAX_LEVI_CIVITA_N={MAX_LEVI_CIVITA_N} only (it never materialises the n^n "
            "tensor). For larger n use the O(n) basis (SO(n) adds Levi-Civita elements only "
            "when k + l >= n)"
        )


@dataclass(frozen=True)
class _PairedElement:
    """What the symplectic and Brauer–Grood diagrams share: ``k``, ``l`` and the pairs."""

    k: int
    l: int  # noqa: E741  (the papers' name for the output order)
    blocks: Pairs
    symbol: ClassVar[str] = "?"

    def _free(self) -> tuple[int, ...]:
        return ()

    def __post_init__(self) -> None:
        canonical = tuple(sorted(tuple(sorted(p)) for p in self.blocks))
        object.__setattr__(self, "blocks", canonical)
        if any(len(p) != 2 for p in canonical):
            raise ValueError(f"blocks must all be pairs, got {self.blocks}")
        vertices = sorted([v for p in canonical for v in p] + list(self._free()))
        if vertices != list(range(self.k + self.l)):
            raise ValueError(
                f"pairs (and free vertices) must cover 0..{self.k + self.l - 1} exactly once "
                f"(k={self.k}, l={self.l}), got blocks={canonical}, free={self._free()}"
            )

    @property
    def order(self) -> int:
        """``r = k + l``, the number of vertices."""
        return self.k + self.l

    def pair_kinds(self) -> tuple[str, ...]:
        """Per pair: ``"cup"`` (two top), ``"cap"`` (two bottom) or ``"through"``."""
        kinds = []
        for u, v in self.blocks:
            top = (u < self.l) + (v < self.l)
            kinds.append("cup" if top == 2 else "cap" if top == 0 else "through")
        return tuple(kinds)

    def rows(self) -> tuple[str, str]:
        """The two rows (top/output, bottom/input): a letter per pair, ``ε`` for free vertices."""
        marks = ["ε"] * self.order
        for index, (u, v) in enumerate(self.blocks):
            marks[u] = marks[v] = _LETTERS[index] if index < len(_LETTERS) else f"<{index}>"
        return " ".join(marks[: self.l]) or "∅", " ".join(marks[self.l :]) or "∅"

    def __str__(self) -> str:
        top, bottom = self.rows()
        return f"{self.symbol}[{top} / {bottom}]"

    def _pair_values(self, n: int) -> torch.Tensor:
        p = len(self.blocks)
        if p == 0:
            return torch.zeros(1, 0, dtype=torch.int64)
        grids = torch.meshgrid(*([torch.arange(n)] * p), indexing="ij")
        return torch.stack([g.reshape(-1) for g in grids], dim=1)

    def tensor(self, n: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """Dense tensor of shape ``(n,)*(l+k)`` (small sizes only)."""
        return dense_from_entries(*self.entries(n), n, self.order, dtype)

    def matrix(self, n: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """Dense ``(n**l, n**k)`` matrix (small sizes only)."""
        return self.tensor(n, dtype).reshape(n**self.l, n**self.k)

    def entries(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:  # pragma: no cover
        """Non-zero entries ``(coords (nnz, l+k), values (nnz,))`` int64."""
        raise NotImplementedError

    def apply_to(self, x: torch.Tensor, n: int) -> torch.Tensor:
        """``W x`` for ``x`` ``(*batch, n^(k))`` → ``(*batch, n^(l))`` (deprecated).

        .. deprecated:: 0.2
            Use :func:`geomlayers.ops.apply_element` ``(element, x, n)``, the executor
            layer's product (docs/brauer.md). This method stays for one release as a plain
            ``torch.einsum`` contraction of the element's factors (``δ``, ``J``, ``ε``), so the
            diagram layer imports no executor; it never forms the ``n^l x n^k`` matrix.
        """
        warnings.warn(
            f"{type(self).__name__}.apply_to(x, n) is deprecated; use "
            "geomlayers.ops.apply_element(element, x, n)", DeprecationWarning, stacklevel=2,
        )
        return contract(self, x, n)

    def plot(self, ax=None, *, title: str | None = None):
        """Draw the diagram with matplotlib; returns the Axes (see :mod:`geomlayers.diagrams.plot`).

        Top row: output vertices ``0..l-1``; bottom row: input vertices. Needs matplotlib.
        """
        return plot_diagram(self, ax, title=title)


@dataclass(frozen=True)
class SymplecticBrauerDiagram(_PairedElement):
    """Sp(n) spanning element ``F_β``: ``δ`` on through-strands, ``J`` on caps, ``J⁻¹`` on cups.

    Args:
        k, l: input and output orders.
        blocks: the perfect matching (pairs of vertices).
        form: the symplectic form convention, ``"interleaved"`` or ``"block"``
            (:mod:`geomlayers.groups.symplectic`).

    Entries are in ``{-1, 0, 1}``; ``F_β`` is Sp(n)-equivariant for every even ``n``.

    >>> cap = SymplecticBrauerDiagram(k=2, l=0, blocks=((0, 1),))
    >>> print(cap)
    F[∅ / a a]
    >>> cap.matrix(2).to(torch.int64)  # the form ω(x, y) = xᵀ J y, flattened
    tensor([[ 0,  1, -1,  0]])

    """

    form: str = "interleaved"
    symbol: ClassVar[str] = "F"

    def __post_init__(self) -> None:
        super().__post_init__()
        from geomlayers.groups.symplectic import SYMPLECTIC_FORMS

        if self.form not in SYMPLECTIC_FORMS:
            raise ValueError(f"form must be one of {SYMPLECTIC_FORMS}, got {self.form!r}")

    def entries(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Non-zero entries: ``coords`` ``(n^{pairs}, l+k)`` int64 and ``values`` ``±1``."""
        from geomlayers.groups.symplectic import SymplecticGroup

        group = SymplecticGroup(n, self.form)
        partner = torch.tensor(group.partner)
        sign = torch.tensor(group.partner_sign)
        rows = self._pair_values(n)
        coords = torch.zeros(rows.shape[0], self.order, dtype=torch.int64)
        values = torch.ones(rows.shape[0], dtype=torch.int64)
        for index, ((u, v), kind) in enumerate(zip(self.blocks, self.pair_kinds(), strict=True)):
            a = rows[:, index]
            coords[:, u] = a
            coords[:, v] = a if kind == "through" else partner[a]
            if kind == "cap":
                values = values * sign[a]  # J[a, partner(a)]
            elif kind == "cup":
                values = values * -sign[a]  # J⁻¹ = -J
        return coords, values

    def to_json(self) -> list:
        """JSON-able description (basis cache)."""
        return [[list(p) for p in self.blocks], self.form]


@dataclass(frozen=True)
class BrauerGroodDiagram(_PairedElement):
    """SO(n) spanning element ``H_α``: Levi-Civita on the ``n`` free vertices, ``δ`` on pairs.

    Args:
        k, l: input and output orders.
        blocks: pairs of the non-free vertices.
        free: the ``n`` free vertices (sorted; ``ε``'s arguments in label order, top first).

    Valid for ``n = len(free)`` only. Entries in ``{-1, 0, 1}``.

    >>> cross = BrauerGroodDiagram(k=2, l=1, blocks=(), free=(0, 1, 2))
    >>> print(cross)  # the cross product R^3 ⊗ R^3 → R^3
    H[ε / ε ε]

    """

    free: tuple[int, ...] = ()
    symbol: ClassVar[str] = "H"

    def _free(self) -> tuple[int, ...]:
        return self.free

    def __post_init__(self) -> None:
        object.__setattr__(self, "free", tuple(sorted(self.free)))
        super().__post_init__()
        if not self.free:
            raise ValueError("a Brauer–Grood diagram needs n >= 1 free vertices")

    @property
    def n(self) -> int:
        """The dimension this element belongs to (number of free vertices)."""
        return len(self.free)

    def check_n(self, n: int) -> None:
        """Raise unless ``n`` equals the number of free vertices."""
        if n != self.n:
            raise ValueError(
                f"{self} has {self.n} free vertices: it is an element for SO({self.n}), not n={n}"
            )

    def entries(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Non-zero entries: ``coords`` ``(n! n^{pairs}, l+k)`` int64 and ``values`` ``±1``."""
        self.check_n(n)
        perms, signs = permutation_table(n)
        rows = self._pair_values(n)
        both = torch.cartesian_prod(torch.arange(len(perms)), torch.arange(len(rows)))
        both = both.reshape(-1, 2)
        p_rows, v_rows = perms[both[:, 0]], rows[both[:, 1]]
        coords = torch.zeros(both.shape[0], self.order, dtype=torch.int64)
        coords[:, list(self.free)] = p_rows
        for index, (u, v) in enumerate(self.blocks):
            coords[:, u] = coords[:, v] = v_rows[:, index]
        return coords, signs[both[:, 0]]

    def to_json(self) -> list:
        """JSON-able description (basis cache)."""
        return [[list(p) for p in self.blocks], list(self.free)]


def contract(element: _PairedElement, x: torch.Tensor, n: int) -> torch.Tensor:
    """``W x`` of a symplectic Brauer or Brauer–Grood diagram by ``torch.einsum`` of its factors.

    The element is a contraction of small factors (Pearce-Crump, arXiv 2304.14165, §4):
    ``δ`` or ``J`` on caps, ``δ`` or ``J⁻¹ = -J`` on cups, ``δ`` on through-strands and, for
    ``H_α``, one Levi-Civita symbol applied as a signed gather / scatter over the ``n!``
    permutations (never the ``n^n`` tensor). No ``n^l x n^k`` matrix is formed.

    Args:
        element: a :class:`SymplecticBrauerDiagram` or :class:`BrauerGroodDiagram`.
        x: ``(*batch, n, …, n)`` with ``element.k`` trailing axes.
        n: the dimension.

    Returns:
        ``(*batch, n, …, n)`` with ``element.l`` trailing axes; dtype and device of ``x``.

    """
    k, l = element.k, element.l  # noqa: E741
    free = element._free()
    if free:
        element.check_n(n)
        check_levi_civita(n)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() < k or any(s != n for s in x.shape[x.dim() - k :]):
        raise ValueError(f"x must end in k={k} axes of size n={n}, got shape {tuple(x.shape)}")
    batch = x.shape[: x.dim() - k]
    form = getattr(element, "form", None)
    eye = torch.eye(n, dtype=x.dtype, device=x.device)
    cap_matrix = eye if form is None else _form_matrix(n, form, x)
    cup_matrix = eye if form is None else -cap_matrix
    letter = {v: 1 + v for v in range(element.order)}  # 0 is the (flattened) batch axis
    caps, cups, through = [], [], []
    for (u, v), kind in zip(element.blocks, element.pair_kinds(), strict=True):
        if kind == "through":
            letter[v] = letter[u]
            through.append(letter[u])
        elif kind == "cap":
            if form is None:
                letter[v] = letter[u]  # δ: a repeated index takes the diagonal
            else:
                caps += [cap_matrix, [letter[u], letter[v]]]
        else:
            cups += [cup_matrix, [letter[u], letter[v]]]
    bottom_free = [letter[f] for f in free if f >= l]
    top_free = [letter[f] for f in free if f < l]
    flat = x.reshape(-1, *([n] * k))
    middle = [0, *through, *bottom_free]
    w = torch.einsum(flat, [0, *(letter[v] for v in range(l, l + k))], *caps, middle)
    if free:
        d, s, t = len(through), len(bottom_free), len(top_free)
        perms, signs = permutation_table(n)
        powers = n ** torch.arange(n - 1, -1, -1)
        flat_x = (perms[:, :t] * powers[n - t :]).sum(1).to(x.device)
        flat_y = (perms[:, t:] * powers[t:]).sum(1).to(x.device)
        w = w.reshape(w.shape[0], n**d, n**s)
        gathered = w[..., flat_y] * signs.to(dtype=x.dtype, device=x.device)
        w = w.new_zeros(w.shape[0], n**d, n**t).index_add(-1, flat_x, gathered)
        w = w.reshape(-1, *([n] * (d + t)))
        middle = [0, *through, *top_free]
    y = torch.einsum(w, middle, *cups, [0, *(letter[v] for v in range(l))])
    return y.reshape(*batch, *([n] * l))


def _form_matrix(n: int, form: str, like: torch.Tensor) -> torch.Tensor:
    from geomlayers.groups.symplectic import symplectic_form

    return symplectic_form(n, form, dtype=like.dtype, device=like.device)
