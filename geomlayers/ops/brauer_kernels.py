"""Fast products of Brauer, symplectic Brauer and Brauer–Grood diagrams with tensors.

Pearce-Crump, arXiv 2304.14165: a diagram is a composite of
permutations, caps, cups and through-strands, each acting on a few tensor axes). No
``n^l x n^k`` matrix is ever formed, and the Levi-Civita symbol is never materialised:

* O(n), ``E_β`` (a :class:`~geomlayers.diagrams.diagram.PartitionDiagram` with pairs, run by
  the dispatch point :mod:`geomlayers.ops.dispatch`):
  :func:`~geomlayers.ops.diagram_products.apply_partition_diagram` — caps are traces,
  through-strands an axis permutation, cups a write into a diagonal.
  Cost ``n^{k-caps}`` reads, ``n^{l-cups}`` writes.
* Sp(n), ``F_β = (⊗_{cups} J) E_β (⊗_{caps} J)``: ``J`` acts on the *second* vertex of
  every cap before, and of every cup after, the O(n) product. ``J`` is a signed permutation,
  so each application is one ``index_select`` and a sign multiply (``O(size)``). Indeed
  ``Σ_{ab} J[a,b] x[a,b] = tr((I ⊗ J) x)`` and ``(I ⊗ J) δ = Jᵀ = J⁻¹`` as a tensor.
* SO(n), ``H_α``: (1) one ``einsum`` traces the caps and keeps the through-strand axes and
  the ``s`` free bottom axes; (2) the Levi-Civita step
  ``z[.., x] = Σ_y ε(x, y) w[.., y]`` (``x`` the ``n - s`` free top indices) is a gather of
  ``w`` at the last ``s`` entries of every permutation of ``[n]``, a sign multiply and an
  ``index_add`` at the first ``n - s`` entries: ``n!`` terms per through-strand index, never
  the ``n^n`` tensor; (3) one ``einsum`` writes through-strands, free top axes and cups (an
  outer product with the identity). Refused beyond
  :data:`~geomlayers.diagrams.brauer.MAX_LEVI_CIVITA_N` (``n!`` terms).

All functions take ``x`` of shape ``(*batch, n, …, n)`` (``k`` trailing axes), return
``(*batch, n, …, n)`` (``l`` trailing axes), follow ``x``'s dtype and device, and are
differentiable by autograd.
"""

from __future__ import annotations

import functools

import torch

from geomlayers.diagrams.brauer import (
    BrauerGroodDiagram,
    SymplecticBrauerDiagram,
    check_levi_civita,
    permutation_table,
)
from geomlayers.diagrams.diagram import PartitionDiagram
from geomlayers.ops.diagram_products import apply_partition_diagram
from geomlayers.ops.layer import Embedding, Reduction, reduce_and_embed

__all__ = [
    "apply_symplectic_brauer",
    "apply_brauer_grood",
    "apply_form",
    "levi_civita_tables",
]


def _check_input(x: torch.Tensor, k: int, n: int) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() < k or any(s != n for s in x.shape[x.dim() - k :]):
        raise ValueError(f"x must end in k={k} axes of size n={n}, got shape {tuple(x.shape)}")


def apply_form(z: torch.Tensor, axis: int, partner: torch.Tensor, sign: torch.Tensor):
    """Apply a signed permutation matrix ``M[a, partner[a]] = sign[a]`` along ``axis`` of ``z``.

    ``out[.., a, ..] = sign[a] · z[.., partner[a], ..]``; ``partner``, ``sign`` are ``(n,)``.
    """
    shape = [1] * z.dim()
    shape[axis] = z.shape[axis]
    moved = z.index_select(axis, partner.to(z.device))
    return moved * sign.to(dtype=z.dtype, device=z.device).reshape(shape)


@functools.lru_cache(maxsize=256)
def _form_tables(n: int, form: str) -> tuple[torch.Tensor, torch.Tensor]:
    from geomlayers.groups.symplectic import SymplecticGroup

    group = SymplecticGroup(n, form)
    return torch.tensor(group.partner), torch.tensor(group.partner_sign)


def apply_symplectic_brauer(
    element: SymplecticBrauerDiagram, x: torch.Tensor, n: int, backend: str = "torch"
) -> torch.Tensor:
    """``F_β x`` = (J on the second vertex of each cup) ∘ ``E_β`` ∘ (J on each cap's second).

    Shapes as in :func:`apply_element`; ``n`` must be even.
    """
    k, l = element.k, element.l
    _check_input(x, k, n)
    partner, sign = _form_tables(n, element.form)
    first = x.dim() - k
    kinds = element.pair_kinds()
    for (_, v), kind in zip(element.blocks, kinds, strict=True):
        if kind == "cap":
            x = apply_form(x, first + v - l, partner, sign)
    brauer = PartitionDiagram(k=k, l=l, blocks=element.blocks)
    y = apply_partition_diagram(brauer, x, n, backend)
    start = y.dim() - l
    for (_, v), kind in zip(element.blocks, kinds, strict=True):
        if kind == "cup":
            y = apply_form(y, start + v, partner, sign)
    return y


@functools.lru_cache(maxsize=256)
def levi_civita_tables(n: int, t: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Index tables of ``ε`` split as ``(t top indices, n - t bottom indices)``.

    Returns:
        ``flat_x`` ``(n!,)``: row-major flat index of the first ``t`` entries of every
        permutation of ``[n]`` (in ``[0, n^t)``); ``flat_y`` ``(n!,)``: of the last ``n - t``
        entries; ``sign`` ``(n!,)`` int64. Then ``ε[x, y] = Σ_p sign[p] [x = x_p][y = y_p]``.

    """
    check_levi_civita(n)
    perms, signs = permutation_table(n)
    powers = n ** torch.arange(n - 1, -1, -1)
    flat_x = (perms[:, :t] * powers[n - t :]).sum(1)  # t = 0: all zeros
    flat_y = (perms[:, t:] * powers[t:]).sum(1)
    return flat_x, flat_y, signs


def apply_brauer_grood(
    element: BrauerGroodDiagram, x: torch.Tensor, n: int, backend: str = "torch"
) -> torch.Tensor:
    """``H_α x`` by trace → Levi-Civita gather/scatter → through/cup write (module docstring).

    Cost ``n! · n^{through}`` multiply-adds for the ε step (plus the reads of the input and
    the writes of the output); memory ``O(batch · n^{through} · n!)``.
    """
    k, l = element.k, element.l
    element.check_n(n)
    check_levi_civita(n)
    _check_input(x, k, n)
    batch = x.shape[: x.dim() - k]
    kinds = element.pair_kinds()
    letter: dict[int, int] = {}
    for index, (u, v) in enumerate(element.blocks):
        letter[u] = letter[v] = index
    free_base = len(element.blocks)
    for j, f in enumerate(element.free):
        letter[f] = free_base + j
    through = [i for i, kind in enumerate(kinds) if kind == "through"]
    bottom_free = [letter[f] for f in element.free if f >= l]
    top_free = [letter[f] for f in element.free if f < l]
    d, s, t = len(through), len(bottom_free), len(top_free)
    reduce, embed = reduce_and_embed(backend)
    lead = len(batch)
    # (1) traces over caps; keep through-strands then free bottom axes
    bottom = [letter[v] for v in range(l, l + k)]
    reduction, kept = _pattern(bottom, set(through) | set(bottom_free), Reduction)
    w = reduce(x, reduction, n)
    w = _to_order(w, lead, kept, [*through, *bottom_free])
    # (2) z[.., x] = Σ_y ε(x, y) w[.., y] without the n^n tensor
    flat_x, flat_y, sign = levi_civita_tables(n, t)
    w = w.reshape(*batch, n**d, n**s)
    gathered = w[..., flat_y.to(x.device)] * sign.to(dtype=x.dtype, device=x.device)
    z = w.new_zeros(*batch, n**d, n**t).index_add(-1, flat_x.to(x.device), gathered)
    z = z.reshape(*batch, *([n] * (d + t)))
    # (3) through-strands and free top axes to their vertices, cups (δ) as broadcast blocks
    top = [letter.get(v, -1) for v in range(l)]
    cup_letter = free_base + len(element.free)
    for (u, v), kind in zip(element.blocks, kinds, strict=True):
        if kind == "cup":
            top[u] = top[v] = cup_letter
            cup_letter += 1
    embedding, kept = _pattern(top, set(through) | set(top_free), Embedding)
    z = _to_order(z, lead, [*through, *top_free], kept)
    return embed(z, embedding, n)


def _pattern(letters: list[int], propagating: set[int], kind):
    """``Reduction`` / ``Embedding`` of a row of letters, and the kept letters in block order."""
    order: list[int] = []
    for letter in letters:
        if letter not in order:
            order.append(letter)
    labels = tuple(order.index(letter) for letter in letters)
    keep = tuple(letter in propagating for letter in order)
    return kind(labels, keep), [letter for letter in order if letter in propagating]


def _to_order(z: torch.Tensor, lead: int, have: list[int], want: list[int]) -> torch.Tensor:
    """Permute the trailing axes of ``z`` (letters ``have``) into the letter order ``want``."""
    return z.permute(*range(lead), *[lead + have.index(letter) for letter in want])
