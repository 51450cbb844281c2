"""One entry point for a weighted sum of partition diagrams with channel mixing.

A layer ``Y[b, o] = Σ_i Σ_c Λ_i[o, c] · D_i X[b, c]`` over partition diagrams ``D_i`` of
``(R^n)^{⊗k} → (R^n)^{⊗l}`` runs in three stages (Godfrey et al., arXiv 2303.06208;
Pearce-Crump, arXiv 2304.14165; ``docs/layers.md``):

1. **reduce** — one reduction per distinct *input pattern* (the bottom row of a diagram up to
   relabelling), shared by every diagram with that bottom row: read the generalised diagonal
   of ``X`` (axes in one block equal) and sum the bottom-only blocks;
2. **mix** — for each *output pattern* (the top row), stack the reduced tensors of its diagrams
   along channels (axes permuted to the top order) and contract channels with one matmul, at
   the reduced size ``n^p`` — never at ``n^l``;
3. **embed** — write each mixed tensor into the generalised diagonal of the output, broadcast
   over top-only blocks, and sum the patterns.

``embed`` is the transpose of ``reduce`` with the same pattern, so the backward of the layer
is again a layer of transposed diagrams; autograd derives it on the torch backend and the C++
ops declare it explicitly (:mod:`geomlayers.ops.extension`).

Plans are independent of ``n``: the same plan runs at any ``n`` (S_n and A_n layers on
inputs of different sizes), and an optional node mask restricts every sum to the real nodes
of each sample, with means taken over each sample's own node count — a padded batch gives
exactly what each sample gives alone.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import torch

from geomlayers.diagrams.diagram import PartitionDiagram
from geomlayers.ops.plan import Embedding, LayerPlan, Reduction, Term, plan_layer

__all__ = [
    "Embedding",
    "LayerPlan",
    "Reduction",
    "Term",
    "apply_diagrams",
    "check_mask",
    "diagonal_embed",
    "diagonal_reduce",
    "diagram_layer",
    "plan_layer",
    "reduce_and_embed",
]


def diagonal_reduce(x: torch.Tensor, reduction: Reduction) -> torch.Tensor:
    """Sum ``x`` ``(*batch, n^(k))`` over its generalised diagonal → ``(*batch, n^(p))``.

    ``y[..., v_kept] = Σ_{v_summed} x[..., v_{labels[0]}, …, v_{labels[k-1]}]``; the kept
    axes come in block order.
    """
    if reduction.is_identity:
        return x
    k = len(reduction.labels)
    lead = x.dim() - k
    prefix = list(range(lead))
    kept = [lead + b for b, flag in enumerate(reduction.keep) if flag]
    return torch.einsum(x, [*prefix, *[lead + b for b in reduction.labels]], [*prefix, *kept])


def _memoised_outside_compile(build):
    """``build`` behind an LRU cache, called directly while ``torch.compile`` traces.

    The tracer does not follow the cache; the arguments must be hashable.
    """
    cached = functools.lru_cache(maxsize=512)(build)

    @functools.wraps(build)
    def call(*args):
        return build(*args) if torch.compiler.is_compiling() else cached(*args)

    return call


@_memoised_outside_compile
def _diagonal_index(embedding: Embedding, n: int, device: torch.device) -> torch.Tensor:
    """Flat output positions ``(n^t,)`` of every assignment of values to the ``t`` blocks."""
    l = len(embedding.labels)
    flat = torch.zeros((), dtype=torch.int64, device=device)
    blocks = len(embedding.keep)
    for block in range(blocks):
        stride = sum(n ** (l - 1 - axis) for axis in range(l) if embedding.labels[axis] == block)
        shape = [1] * blocks
        shape[block] = n
        flat = flat + torch.arange(n, device=device).reshape(shape) * stride
    return flat.reshape(-1)


def diagonal_embed(y: torch.Tensor, embedding: Embedding, n: int) -> torch.Tensor:
    """Transpose of :func:`diagonal_reduce`: ``(*batch, n^(p))`` → ``(*batch, n^(l))``.

    Writes ``y`` on the generalised diagonal given by ``embedding.labels``, broadcast over the
    blocks with ``keep = False``; zero elsewhere.
    """
    l = len(embedding.labels)
    p = sum(embedding.keep)
    batch = y.shape[: y.dim() - p]
    if embedding.is_identity:
        return y
    expand = [n if flag else 1 for flag in embedding.keep]
    spread = y.reshape(*batch, *expand).expand(*batch, *([n] * len(expand)))
    out = y.new_zeros(*batch, n**l)
    index = _diagonal_index(embedding, n, y.device)
    out = out.index_add(-1, index, spread.reshape(*batch, -1))
    return out.reshape(*batch, *([n] * l))


# -- the layer ------------------------------------------------------------------------------
def _node_mask(mask: torch.Tensor, order: int) -> torch.Tensor:
    """``(B, 1, n, …, n)`` bool: True on tuples of real nodes (``order`` axes)."""
    out = None
    for axis in range(order):
        shape = [mask.shape[0], 1] + [1] * order
        shape[2 + axis] = mask.shape[1]
        factor = mask.reshape(shape)
        out = factor if out is None else out & factor
    return out


def check_mask(mask: torch.Tensor, batch: int, n: int) -> torch.Tensor:
    """Validate a node mask ``(batch, n)`` of bools (True = real node)."""
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError(f"mask must be a bool tensor of shape (batch, n), got {mask!r}")
    if tuple(mask.shape) != (batch, n):
        raise ValueError(f"mask must have shape (batch={batch}, n={n}), got {tuple(mask.shape)}")
    return mask


def diagram_layer(
    x: torch.Tensor,
    weight: torch.Tensor,
    plan: LayerPlan,
    n: int,
    *,
    mask: torch.Tensor | None = None,
    normalize: bool = False,
    backend: str = "torch",
    bias: tuple[torch.Tensor, LayerPlan] | None = None,
    fused: bool = True,
    zero_padding: bool = True,
) -> torch.Tensor:
    """``Y[b, o] = Σ_i Σ_c weight[i, o, c] · s_i · D_i X[b, c]`` (``+ Σ_j bias[j, o] · E_j``).

    Args:
        x: ``(B, C_in, n, …, n)`` with ``plan.k`` axes of size ``n``.
        weight: ``(plan.num_elements, C_out, C_in)``.
        plan: from :func:`plan_layer`.
        n: the size of every tensor axis (needed when ``k = 0``).
        mask: optional ``(B, n)`` bool; entries off the real nodes are ignored on input and
            zero on output, and means use each sample's own node count.
        normalize: ``s_i = n^{-b_i}`` (a mean instead of a sum over the ``b_i`` summed blocks);
            otherwise ``s_i = 1``.
        backend: ``"torch"`` (reference) or ``"cpp"`` (custom ops of
            :mod:`geomlayers.ops.extension`).
        bias: optional ``(weight (J, C_out, 1), plan of J diagrams 0 → l)``: the invariant
            tensors ``E_j`` of the bias, added at the reduced size of their pattern (a
            constant joins a row term before broadcasting), so no full-size bias is built.
        fused: run a ``2 → 2`` plan as one autograd node
            (:func:`geomlayers.ops.fused.fused_two_to_two`, either backend); ``False``
            always takes the general path.
        zero_padding: with ``mask``, set the output entries off the real nodes to zero (a
            select over the whole output, forward and backward). ``False`` leaves them
            unspecified (finite when ``x`` is finite on the real nodes; the real entries are
            bitwise the same), for a caller whose next operation ignores them, e.g. another
            masked layer, which selects its input.

    Returns:
        ``(B, C_out, n, …, n)`` with ``plan.l`` axes.

    """
    k, l = plan.k, plan.l
    batch, in_channels = x.shape[:2]
    out_channels = weight.shape[1]
    reduce, _, add_diagonal = _primitives(backend)
    counts = None
    if mask is not None:
        # select, never multiply: NaN or Inf in the padding times 0 would be NaN
        x = torch.where(_node_mask(mask, k), x, x.new_zeros(())) if k else x
        counts = mask.sum(dim=1).clamp(min=1).to(x.dtype)
    if fused and k == 2 and l == 2:
        out = _fused(x, weight, plan, n, mask if zero_padding else None, counts, normalize,
                     bias, backend)
        if out is not None:
            return out
    reduced = []
    for reduction, r in zip(plan.reductions, _all_reductions(x, plan.reductions, n, reduce),
                            strict=True):
        if normalize and reduction.summed:
            if counts is None:
                r = r * float(n) ** -reduction.summed
            else:
                scale = counts.pow(-reduction.summed)
                r = r * scale.reshape(batch, *([1] * (r.dim() - 1)))
        reduced.append(r)
    patterns = _mixed_patterns(reduced, weight, plan, n)
    if bias is not None:
        bias_weight, bias_plan = bias
        patterns += _mixed_patterns([x.new_ones(1, 1)], bias_weight, bias_plan, n)
    full = (batch, out_channels, *([n] * l))
    out = None
    diagonal = []
    for embedding, term in _merge_patterns(patterns):
        if embedding.is_diagonal:
            diagonal.append((embedding, term))
        else:
            # out of place: an in-place add on the matmul output (a view) would make
            # autograd copy the whole gradient once per add (CopySlices)
            out = term if out is None else out + term
    out = x.new_zeros(full) if out is None else out.expand(full).contiguous()
    for embedding, term in diagonal:
        values = term.reshape(*term.shape[:2], *([n] * sum(embedding.keep)))
        out = add_diagonal(out, values.expand(batch, *values.shape[1:]), embedding, n)
    if mask is not None and l and zero_padding:
        out = torch.where(_node_mask(mask, l), out, out.new_zeros(()))
    return out


def _fused(x, weight, plan, n, mask, counts, normalize, bias,
           backend) -> torch.Tensor | None:
    """The ``2 → 2`` layer through the fused op, or ``None`` when its layout does not apply.

    ``mask``: zero the output off the real nodes (``None``: leave it; ``counts`` carries the
    per-sample node counts either way).
    """
    from geomlayers.ops import fused as fused_op

    layout = _fused_layout(plan, None if bias is None else bias[1])
    if layout is None:
        return None
    scale = None
    if normalize:
        scale = (1.0 / n) if counts is None else counts.reciprocal().reshape(-1, 1, 1)
    out = fused_op.fused_two_to_two(x, weight, layout, scale,
                                    None if bias is None else bias[0][..., 0],
                                    kernel=backend == "cpp")
    if mask is not None:
        out = torch.where(_node_mask(mask, 2), out, out.new_zeros(()))
    return out


@_memoised_outside_compile
def _fused_layout(plan: LayerPlan, bias_plan: LayerPlan | None):
    from geomlayers.ops import fused as fused_op

    return fused_op.fused_layout(plan, bias_plan)


def _all_reductions(x: torch.Tensor, reductions: tuple[Reduction, ...], n: int,
                    reduce) -> list[torch.Tensor]:
    """``reduce(x, r, n)`` for each reduction, in order.

    A reduction that sums more blocks of the same diagonal as another is summed from the
    smallest such result instead of from ``x`` (e.g. the total from the row sums): fewer
    passes over ``x`` forward and backward.
    """
    done: dict[int, torch.Tensor] = {}
    for index, parent, axes in _reduction_schedule(reductions):
        if parent is None:
            done[index] = reduce(x, reductions[index], n)
        else:
            lead = done[parent].dim() - sum(reductions[parent].keep)
            done[index] = done[parent].sum([lead + axis for axis in axes])
    return [done[i] for i in range(len(reductions))]


@_memoised_outside_compile
def _reduction_schedule(reductions: tuple[Reduction, ...]) -> tuple:
    """``(index, parent, axes)`` per reduction, most kept blocks first.

    Reduction ``index`` is ``x`` reduced directly (``parent`` None) or ``parent``'s result
    summed over ``axes`` (positions among its kept blocks); the parent is the smallest
    earlier reduction it refines.
    """
    kept = [sum(r.keep) for r in reductions]
    order = sorted(range(len(reductions)), key=lambda i: -kept[i])
    schedule = []
    for position, index in enumerate(order):
        parent = None
        for earlier in order[:position]:
            if _sums_further(reductions[earlier], reductions[index]) and (
                    parent is None or kept[earlier] < kept[parent]):
                parent = earlier
        axes = ()
        if parent is not None:
            blocks = [b for b, flag in enumerate(reductions[parent].keep) if flag]
            axes = tuple(a for a, b in enumerate(blocks) if not reductions[index].keep[b])
        schedule.append((index, parent, axes))
    return tuple(schedule)


def _sums_further(parent: Reduction, target: Reduction) -> bool:
    """``target`` is ``parent`` with some more kept blocks summed."""
    return (parent.labels == target.labels and parent.keep != target.keep
            and _kept_within(target.keep, parent.keep))


def _kept_within(inner: tuple[bool, ...], outer: tuple[bool, ...]) -> bool:
    """Every block kept in ``inner`` is kept in ``outer`` (same blocks, same order)."""
    return all(o or not i for i, o in zip(inner, outer, strict=True))


def _mixed_patterns(reduced: list[torch.Tensor], weight: torch.Tensor, plan: LayerPlan,
                    n: int) -> list[tuple[Embedding, torch.Tensor]]:
    """Each output pattern's mixed values, shaped ``(B, C_out, n or 1 per block)``."""
    order = [t.element for _, terms in plan.outputs for t in terms]
    if order != list(range(len(order))):
        weight = weight[order]  # one gather, then contiguous slices per output pattern
    patterns, start = [], 0
    for embedding, terms in plan.outputs:
        mixed = _mix(reduced, terms, weight[start : start + len(terms)])
        start += len(terms)
        blocks = [n if flag else 1 for flag in embedding.keep]
        patterns.append((embedding, mixed.reshape(*mixed.shape[:2], *blocks)))
    return patterns


def _merge_patterns(
    patterns: list[tuple[Embedding, torch.Tensor]],
) -> list[tuple[Embedding, torch.Tensor]]:
    """Patterns summed at the smallest size that holds them, largest first.

    A pattern whose kept blocks are a subset of another's on the same diagonal is added to
    that one before it is written out (a constant into a row term, a diagonal constant into
    the diagonal): one full-size pass fewer per merge. Largest first, so a full-size matmul
    output can become the layer's output without a copy.
    """
    # size n^(kept blocks): a static key, so torch.compile traces it; stable among equals
    ranked = sorted(patterns, key=lambda p: -sum(p[0].keep))
    merged: list[tuple[Embedding, torch.Tensor]] = []
    for embedding, term in ranked:
        host = next((i for i, (kept, values) in enumerate(merged)
                     if _can_host(kept, values, embedding)), None)
        if host is None:
            merged.append((embedding, term))
        else:
            merged[host] = (merged[host][0], merged[host][1] + term)
    return merged


def _can_host(host: Embedding, values: torch.Tensor, guest: Embedding) -> bool:
    """Whether ``guest`` is added to ``host`` before either is written out.

    It must broadcast into ``host`` (same diagonal, a subset of its kept blocks), and the
    merge must save a pass (``host`` is a diagonal or has a broadcast block).
    """
    if host.labels != guest.labels or not _kept_within(guest.keep, host.keep):
        return False
    return host.is_diagonal or not all(host.keep) or values.dim() == 2


def _mix(reduced: list[torch.Tensor], terms: tuple[Term, ...], rows: torch.Tensor) -> torch.Tensor:
    """Channel mixing of one output pattern at the reduced size: ``(B, C_out, n^(p))``.

    Terms read in their own axis order are stacked along channels and mixed by one matmul;
    a term that needs its axes permuted is mixed on its unpermuted reduction and the *result*
    is permuted (a view), so no input-sized copy is made.
    """
    direct = [i for i, t in enumerate(terms) if t.permutation == tuple(range(len(t.permutation)))]
    mixed = None
    if direct:
        inputs = [reduced[terms[i].reduction] for i in direct]
        stacked = inputs[0] if len(inputs) == 1 else torch.cat(inputs, dim=1)
        mixed = _matmul_channels(rows[direct], stacked)
    for i, term in enumerate(terms):
        if i in direct:
            continue
        part = _matmul_channels(rows[i : i + 1], reduced[term.reduction])
        part = part.permute(0, 1, *[p + 2 for p in term.permutation])
        mixed = part if mixed is None else mixed + part
    return mixed


def _matmul_channels(rows: torch.Tensor, stacked: torch.Tensor) -> torch.Tensor:
    """``rows`` ``(m, C_out, C_in)`` on ``stacked`` ``(B, m·C_in, *axes)``.

    Returns ``(B, C_out, *axes)``, a fresh tensor (the matmul's own output).
    """
    batch = stacked.shape[0]
    mixing = rows.permute(1, 0, 2).reshape(rows.shape[1], -1)
    # bmm over a stride-0 expanded weight: no copies (2-D @ 3-D matmul transposes and copies
    # both operands, measured 5x slower forward+backward)
    mixing = mixing.expand(batch, *mixing.shape)
    width = math.prod(stacked.shape[2:])  # explicit: -1 is ambiguous for an empty batch
    out = torch.bmm(mixing, stacked.reshape(batch, mixing.shape[2], width))
    return out.reshape(batch, rows.shape[1], *stacked.shape[2:])


def _torch_reduce(x: torch.Tensor, reduction: Reduction, n: int) -> torch.Tensor:
    return diagonal_reduce(x, reduction)


def _torch_add_diagonal(
    out: torch.Tensor, y: torch.Tensor, embedding: Embedding, n: int
) -> torch.Tensor:
    """``out + diagonal_embed(y)`` in place on ``out`` (a fresh tensor), via ``index_add_``."""
    lead = out.shape[: out.dim() - len(embedding.labels)]
    expand = [n if flag else 1 for flag in embedding.keep]
    spread = y.reshape(*lead, *expand).expand(*lead, *([n] * len(expand)))
    index = _diagonal_index(embedding, n, y.device)
    out.view(*lead, -1).index_add_(-1, index, spread.reshape(*lead, -1))
    return out


def _primitives(backend: str) -> tuple:
    """``(reduce, embed, add_diagonal)`` of a backend (the one place that dispatches on it)."""
    if backend == "torch":
        return _torch_reduce, diagonal_embed, _torch_add_diagonal
    if backend == "cpp":
        from geomlayers.ops import extension

        return extension.reduce, extension.embed, extension.add_diagonal
    raise ValueError(f"backend must be 'torch' or 'cpp', got {backend!r}")


def reduce_and_embed(backend: str):
    """The ``(reduce(x, reduction, n), embed(y, embedding, n))`` pair of a backend."""
    reduce, embed, _ = _primitives(backend)
    return reduce, embed


def apply_diagrams(
    diagrams: Sequence[PartitionDiagram],
    weights: torch.Tensor,
    x: torch.Tensor,
    n: int,
    backend: str = "torch",
) -> torch.Tensor:
    """``Σ_i weights[i] · D_i x`` for ``x`` ``(*batch, n^(k))`` → ``(*batch, n^(l))``."""
    k, l = diagrams[0].k, diagrams[0].l
    plan = plan_layer(tuple(diagrams), k, l)
    batch = x.shape[: x.dim() - k]
    flat = x.reshape(-1, 1, *([n] * k))
    out = diagram_layer(flat, weights.to(x.dtype).reshape(-1, 1, 1), plan, n, backend=backend)
    return out.reshape(*batch, *([n] * l))
