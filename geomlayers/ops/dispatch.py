"""The one dispatch point: execute a list of basis elements with weights on an input.

A layer ``Y[b, o] = Σ_i Σ_c Λ_i[o, c] · s_i · (E_i X[b, c])`` over elements ``E_i`` of
``Hom((R^n)^{⊗k}, (R^n)^{⊗l})`` runs each element on the executor that fits it
(see ``docs/backends.md``):

* partition diagrams ``D_π`` → one :class:`~geomlayers.ops.layer.LayerPlan` (shared input
  reductions, channel mixing at the reduced size, one embedding per output pattern; Godfrey
  et al., arXiv 2303.06208), ``n``-independent;
* Brauer-type diagrams with a structured product (symplectic Brauer ``F_β``, Brauer–Grood
  ``H_α``; Pearce-Crump, arXiv 2304.14165) → :mod:`geomlayers.ops.brauer_products`;
* every other element (orbit indicators of a permutation group, S_n orbit elements ``X_π``,
  jellyfish ``J_π``, bilabelled-graph tensors, numeric elements) → an
  :class:`IndexTable` of its non-zero entries, run by index gathers and scatters whose
  memory is proportional to the basis's support (never an ``n^l x n^k`` matrix).

:func:`build_program` resolves the routing once (a layer does it in ``__init__``);
:func:`execute` runs it; :func:`apply_weighted` is the single-channel form used by
``Basis.apply``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from geomlayers.diagrams.brauer import BrauerGroodDiagram, SymplecticBrauerDiagram
from geomlayers.diagrams.diagram import PartitionDiagram
from geomlayers.ops.brauer_kernels import apply_brauer_grood, apply_symplectic_brauer
from geomlayers.ops.diagram_products import apply_partition_diagram
from geomlayers.ops.layer import LayerPlan, diagram_layer, plan_layer

__all__ = [
    "DEFAULT_MAX_BYTES",
    "ElementProgram",
    "IndexTable",
    "apply_element",
    "apply_elements",
    "apply_weighted",
    "build_program",
    "check_input_dtype",
    "execute",
    "max_bytes",
]

#: refuse to build index tables or run chunks above this many bytes (``$GEOMLAYERS_MAX_BYTES``)
DEFAULT_MAX_BYTES = 4 * 2**30
#: transient bytes one chunk of the gather / scatter product may use
CHUNK_BYTES = 64 * 2**20


def max_bytes() -> int:
    """The memory guard's limit in bytes: ``$GEOMLAYERS_MAX_BYTES`` or 4 GiB."""
    value = os.environ.get("GEOMLAYERS_MAX_BYTES")
    if not value:
        return DEFAULT_MAX_BYTES
    try:
        return int(float(value))
    except ValueError:
        raise ValueError(f"GEOMLAYERS_MAX_BYTES must be a number of bytes, got {value!r}") from None


def _guard(estimate: int, what: str) -> None:
    limit = max_bytes()
    if estimate > limit:
        raise MemoryError(
            f"{what} needs about {estimate / 2**20:,.0f} MiB ({estimate:,} bytes), above the "
            f"limit of {limit / 2**20:,.0f} MiB; raise GEOMLAYERS_MAX_BYTES to allow it, or use "
            "a smaller n, batch or channel count"
        )


@dataclass(frozen=True)
class IndexTable:
    """Non-zero entries of ``m`` elements, sorted by element.

    Attributes:
        n: the dimension.
        k: the input order.
        l: the output order.
        offsets: ``(m + 1,)`` int64; the entries of element ``i`` are ``offsets[i]:offsets[i+1]``.
        rows: ``(nnz,)`` int64 flat output index in ``[0, n^l)``.
        cols: ``(nnz,)`` int64 flat input index in ``[0, n^k)``.
        values: ``(nnz,)`` float64, or ``None`` when every entry is 1.

    """

    n: int
    k: int
    l: int  # noqa: E741
    offsets: torch.Tensor
    rows: torch.Tensor
    cols: torch.Tensor
    values: torch.Tensor | None

    @property
    def nnz(self) -> int:
        """Number of stored entries (the support of the elements)."""
        return int(self.rows.numel())

    @property
    def nbytes(self) -> int:
        """Bytes held by the table."""
        tensors = [self.offsets, self.rows, self.cols]
        if self.values is not None:
            tensors.append(self.values)
        return sum(t.numel() * t.element_size() for t in tensors)

    @staticmethod
    def from_entries(entries: Sequence[tuple[torch.Tensor, torch.Tensor]], n: int, k: int,
                     l: int) -> IndexTable:  # noqa: E741
        """Table of elements given as ``(coords (nnz, l + k), values (nnz,))`` each.

        Raises:
            MemoryError: when the table would exceed :func:`max_bytes` (checked before
                the entries are concatenated).

        """
        counts = [int(coords.shape[0]) for coords, _ in entries]
        total = sum(counts)
        _guard(total * 3 * 8, f"the index table of {len(entries)} elements ({total:,} entries)")
        rows, cols, values = [], [], []
        for coords, vals in entries:
            rows.append(_flatten(coords[:, :l], n))
            cols.append(_flatten(coords[:, l:], n))
            values.append(vals.to(torch.float64))
        offsets = torch.zeros(len(entries) + 1, dtype=torch.int64)
        offsets[1:] = torch.tensor(counts, dtype=torch.int64).cumsum(0)
        empty = torch.zeros(0, dtype=torch.int64)
        value = torch.cat(values) if values else torch.zeros(0, dtype=torch.float64)
        return IndexTable(
            n, k, l, offsets,
            torch.cat(rows) if rows else empty, torch.cat(cols) if cols else empty,
            None if bool((value == 1).all()) else value,
        )


def _flatten(coords: torch.Tensor, n: int) -> torch.Tensor:
    """Row-major flat index of ``(nnz, m)`` coordinates in base ``n``."""
    flat = torch.zeros(coords.shape[0], dtype=torch.int64)
    for axis in range(coords.shape[1]):
        flat = flat * n + coords[:, axis].to(torch.int64)
    return flat


@dataclass(frozen=True)
class ElementProgram:
    """Routing of ``len(elements)`` elements ``k → l`` to executors (see the module doc).

    Attributes:
        k, l: orders; ``count``: number of elements (rows of the weight).
        partition: indices of the partition diagrams; ``plan``: their layer plan (or None).
        paired: indices of the Brauer-type elements with a structured product.
        tabled: indices of the elements run from ``table``; ``table``: their entries, built
            for the fixed ``n`` of ``table.n`` (None when ``tabled`` is empty).
        elements: the elements themselves.

    """

    k: int
    l: int  # noqa: E741
    count: int
    partition: tuple[int, ...]
    plan: LayerPlan | None
    paired: tuple[int, ...]
    tabled: tuple[int, ...]
    table: IndexTable | None
    elements: tuple

    @property
    def variable_n(self) -> bool:
        """Whether the program runs at any ``n`` (partition diagrams only)."""
        return not self.paired and not self.tabled


def build_program(
    elements: Sequence,
    k: int,
    l: int,  # noqa: E741
    n: int | None,
    entries: Callable[[int], tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> ElementProgram:
    """Decide once how each element runs.

    Args:
        elements: the elements, all ``k → l``.
        k, l: orders.
        n: the dimension the non-diagram elements are tabled at (``None`` only when every
            element is a partition diagram).
        entries: ``entries(i) -> (coords (nnz, l + k), values (nnz,))`` of element ``i``;
            default ``elements[i].entries(n)``.

    Raises:
        ValueError: when an element needs a table and ``n`` is None.
        MemoryError: when the table would exceed :func:`max_bytes`.

    """
    elements = tuple(elements)
    partition = tuple(i for i, e in enumerate(elements) if isinstance(e, PartitionDiagram))
    paired = tuple(i for i, e in enumerate(elements)
                   if isinstance(e, (BrauerGroodDiagram, SymplecticBrauerDiagram)))
    routed = set(partition) | set(paired)
    tabled = tuple(i for i in range(len(elements)) if i not in routed)
    plan = plan_layer(tuple(elements[i] for i in partition), k, l) if partition else None
    table = None
    if tabled and n is not None and _orbit_like([elements[i] for i in tabled]):
        table = _orbit_table([elements[i] for i in tabled], n, k, l)
    elif tabled:
        if n is None:
            raise ValueError("n is needed to tabulate elements that are not partition diagrams")
        def default(i: int):
            return elements[i].entries(n)
        get = entries or default
        table = IndexTable.from_entries([get(i) for i in tabled], n, k, l)
    return ElementProgram(k, l, len(elements), partition, plan, paired, tabled, table, elements)


def _orbit_like(elements: list) -> bool:
    """Whether the elements are orbit indicators of one permutation group on index tuples.

    Each has a representative tuple, and the shared group has generator images.
    """
    first = elements[0]
    group = getattr(first, "group", None)
    return hasattr(group, "generator_images") and all(
        getattr(e, "group", None) is group and hasattr(e, "representative") for e in elements)


def _orbit_table(elements: list, n: int, k: int, l: int) -> IndexTable:  # noqa: E741
    """Index table of orbit indicators in one pass over ``[n]^{k+l}``.

    The orbits are the connected components of the generators' action on flat tuple indices
    (as in :func:`geomlayers.bases.tuple_orbits`); each tuple's component names its element.
    Memory ``O(n^{k+l})`` (the support of a full orbit basis), checked by the guard first.
    """
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    r = k + l
    total = n**r
    images = [np.asarray(g, dtype=np.int64) for g in elements[0].group.generator_images()]
    _guard(total * 8 * (2 * len(images) + 6), f"the orbit table over n^(k+l) = {n}^{r} tuples")
    flat = np.arange(total, dtype=np.int64)
    sources, targets = [flat], [flat]
    for image in images:
        moved = np.zeros(total, dtype=np.int64)
        for axis in range(r):
            moved = moved * n + image[(flat // n ** (r - 1 - axis)) % n]
        sources.append(flat)
        targets.append(moved)
    src, dst = np.concatenate(sources), np.concatenate(targets)
    graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(total, total))
    del src, dst, sources, targets
    _, labels = connected_components(graph, directed=True, connection="weak")
    del graph
    position = np.full(labels.max() + 1, -1, dtype=np.int64)
    for index, element in enumerate(elements):
        rep = 0
        for value in element.representative:
            rep = rep * n + int(value)
        position[labels[rep]] = index
    owner = position[labels]
    keep = np.flatnonzero(owner >= 0)
    order = keep[np.argsort(owner[keep], kind="stable")]
    counts = np.bincount(owner[keep], minlength=len(elements))
    offsets = torch.zeros(len(elements) + 1, dtype=torch.int64)
    offsets[1:] = torch.from_numpy(counts).cumsum(0)
    size_in = n**k
    tuples = torch.from_numpy(order)
    return IndexTable(n, k, l, offsets, tuples // size_in, tuples % size_in, None)


def check_input_dtype(x: torch.Tensor, dtype: torch.dtype, owner: str = "the layer") -> None:
    """Refuse an input whose dtype differs from the parameters', naming both.

    Raises:
        TypeError: ``x.dtype != dtype`` (integer inputs included).

    """
    if x.dtype != dtype:
        raise TypeError(
            f"x has dtype {x.dtype} but {owner}'s parameters are {dtype}; convert the input "
            f"(x.to({dtype})) or the module (.to({x.dtype}))"
            + ("" if x.dtype.is_floating_point else "; integer inputs are not promoted")
        )


def execute(
    program: ElementProgram,
    weight: torch.Tensor,
    x: torch.Tensor,
    n: int,
    *,
    mask: torch.Tensor | None = None,
    normalize: bool = False,
    backend: str = "torch",
    bias: tuple[torch.Tensor, LayerPlan] | None = None,
    zero_padding: bool = True,
) -> torch.Tensor:
    """``Y[b, o] = Σ_i Σ_c weight[i, o, c] · s_i · E_i X[b, c]`` over ``program``'s elements.

    Args:
        program: from :func:`build_program`.
        weight: ``(program.count, C_out, C_in)``, same dtype as ``x``.
        x: ``(B, C_in, n, …, n)`` (``k`` axes; ``B = 0`` gives an empty output).
        n: the size of the node axes (``>= 1``; needed when ``k = 0``).
        mask: optional ``(B, n)`` bool for partition-diagram programs (see
            :func:`~geomlayers.ops.layer.diagram_layer`).
        normalize: ``s_i = n^{-b_i}`` for partition diagrams with ``b_i`` summed blocks;
            ``1`` for all others.
        backend: ``"torch"`` or ``"cpp"`` for the partition diagrams' primitives.
        bias: optional invariant bias for partition-diagram programs (as in ``diagram_layer``).
        zero_padding: with ``mask``, zero the output off the real nodes (``False``: leave
            those entries unspecified; as in ``diagram_layer``).

    Returns:
        ``(B, C_out, n, …, n)`` with ``l`` axes.

    Raises:
        ValueError: ``n < 1``, or ``n`` differs from the table's for tabled elements.
        TypeError: ``x`` and ``weight`` differ in dtype.
        MemoryError: a tabled product whose smallest chunk exceeds :func:`max_bytes`.

    """
    k, l = program.k, program.l
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n (the size of the node axes) must be an int >= 1, got {n!r}")
    if weight.dtype != x.dtype:
        check_input_dtype(x, weight.dtype)
    if program.table is not None and n != program.table.n:
        raise ValueError(f"these elements were tabled for n={program.table.n}, got n={n}")
    batch, out_channels = x.shape[0], weight.shape[1]
    if batch == 0:  # empty, but on the autograd graph like torch layers' outputs
        return x.new_zeros(0, out_channels, *([n] * l)) + 0 * weight.sum()
    if program.plan is not None:
        rows = weight if len(program.partition) == program.count else weight[list(
            program.partition)]
        out = diagram_layer(x, rows, program.plan, n, mask=mask, normalize=normalize,
                            backend=backend, bias=bias, zero_padding=zero_padding)
    else:
        out = x.new_zeros(batch, out_channels, *([n] * l))
    if program.paired:
        elements = [program.elements[i] for i in program.paired]
        out = out + _paired_product(elements, weight[list(program.paired)], x, n, backend)
    if program.table is not None:
        rows = weight[list(program.tabled)]
        flat = x.reshape(batch, x.shape[1], n**k)
        out = out + _table_product(program.table, rows, flat).reshape(out.shape)
    return out


def _chunks(offsets: list[int], span: int, per_entry: int, per_column: int) -> list[tuple]:
    """Groups of consecutive elements whose transient bytes stay under ``CHUNK_BYTES``."""
    groups, start = [], 0
    m = len(offsets) - 1
    while start < m:
        stop = start + 1
        while stop < m and ((offsets[stop + 1] - offsets[start]) * per_entry
                            + (stop + 1 - start) * span * per_column) <= CHUNK_BYTES:
            stop += 1
        need = (offsets[stop] - offsets[start]) * per_entry + (stop - start) * span * per_column
        _guard(need, f"one element's gather / scatter product ({need:,} bytes)")
        groups.append((start, stop))
        start = stop
    return groups


def _table_product(table: IndexTable, weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``Σ_i weight[i] E_i x`` over tabled elements: ``x`` ``(B, C_in, n^k)`` → ``(B, C_out, n^l)``.

    Tensor positions lead (``(n^k, B·C)`` rows), so every gather and scatter moves whole rows
    of ``B·C`` values. Channels are mixed at the smaller side: when ``n^k <= n^l`` each
    element's input is mixed first (``(n^k, B, C_out)`` per element) and gathered into the
    output by its entries; otherwise the entries scatter the input (``(n^l, B, C_in)`` per
    element), which is mixed afterwards. Elements with small supports (fewer entries than
    ``n^min(k, l)`` on average) apply their ``(C_out, C_in)`` block entry by entry instead.
    Elements run in chunks of bounded transient memory; autograd keeps only indices
    (mix-first, entry by entry) or the scattered chunks (scatter-first).
    """
    n, k, l = table.n, table.k, table.l
    batch, in_channels = x.shape[:2]
    out_channels = weight.shape[1]
    size_in, size_out = n**k, n**l
    xt = x.permute(2, 0, 1).contiguous()  # (n^k, B, C_in)
    out = x.new_zeros(size_out, batch * out_channels)
    item = x.element_size()
    device = x.device
    if table.nnz <= (len(table.offsets) - 1) * min(size_in, size_out):
        out = _entry_product(table, weight, xt, out, item)
        return out.reshape(size_out, batch, out_channels).permute(1, 2, 0)
    offsets = table.offsets.tolist()
    mix_first = size_in <= size_out
    channels = out_channels if mix_first else in_channels
    span = size_in if mix_first else size_out
    for start, stop in _chunks(offsets, span, batch * channels * item + 24,
                               batch * channels * item):
        lo, hi = offsets[start], offsets[stop]
        m = stop - start
        local = torch.repeat_interleave(
            torch.arange(m, device=device),
            table.offsets[start + 1 : stop + 1].to(device) - table.offsets[start:stop].to(device),
        )
        rows, cols = table.rows[lo:hi].to(device), table.cols[lo:hi].to(device)
        values = None if table.values is None else table.values[lo:hi].to(device, x.dtype)
        mixing = weight[start:stop]  # (m, C_out, C_in)
        if mix_first:
            # u[j, b, i, o] = Σ_c Λ_i[o, c] x[b, c, j]
            u = torch.matmul(xt, mixing.reshape(m * out_channels, in_channels).T)
            u = u.reshape(size_in, batch, m, out_channels).transpose(1, 2)
            u = u.reshape(size_in * m, batch * out_channels)
            picked = u.index_select(0, cols * m + local)
            if values is not None:
                picked = picked * values[:, None]
            out = out.index_add(0, rows, picked)
        else:
            picked = xt.reshape(size_in, batch * in_channels).index_select(0, cols)
            if values is not None:
                picked = picked * values[:, None]
            z = x.new_zeros(size_out * m, batch * in_channels)
            z = z.index_add(0, rows * m + local, picked)
            z = z.reshape(size_out, m, batch, in_channels).transpose(1, 2)
            z = z.reshape(size_out, batch, m * in_channels)
            mixed = torch.matmul(z, mixing.permute(0, 2, 1).reshape(m * in_channels,
                                                                      out_channels))
            out = out + mixed.reshape(size_out, batch * out_channels)
    return out.reshape(size_out, batch, out_channels).permute(1, 2, 0)


def _entry_product(table: IndexTable, weight: torch.Tensor, xt: torch.Tensor,
                   out: torch.Tensor, item: int) -> torch.Tensor:
    """``out[row_e] += x[col_e] Λ_{id_e}ᵀ`` entry by entry, in bounded chunks.

    ``xt`` ``(n^k, B, C_in)``, ``out`` ``(n^l, B·C_out)``. Cost ``nnz · C_out · C_in · B``:
    cheaper than mixing per element when the elements' supports are small (a graph with
    few automorphisms).
    """
    batch, in_channels = xt.shape[1:]
    out_channels = weight.shape[1]
    device = xt.device
    element = torch.repeat_interleave(torch.arange(len(table.offsets) - 1),
                                      table.offsets[1:] - table.offsets[:-1])
    per_entry = (out_channels * in_channels + batch * (in_channels + out_channels)) * item + 32
    step = max(1, CHUNK_BYTES // per_entry)
    for lo in range(0, table.nnz, step):
        hi = min(table.nnz, lo + step)
        rows, cols = table.rows[lo:hi].to(device), table.cols[lo:hi].to(device)
        blocks = weight.index_select(0, element[lo:hi].to(device))  # (E, C_out, C_in)
        picked = xt.index_select(0, cols)  # (E, B, C_in)
        if table.values is not None:
            picked = picked * table.values[lo:hi].to(device, xt.dtype)[:, None, None]
        applied = torch.bmm(picked, blocks.transpose(1, 2))  # (E, B, C_out)
        out = out.index_add(0, rows, applied.reshape(hi - lo, batch * out_channels))
    return out


def apply_weighted(
    program: ElementProgram, weights: torch.Tensor, x: torch.Tensor, n: int,
    backend: str = "torch",
) -> torch.Tensor:
    """``Σ_i weights[i] · E_i x`` for ``x`` ``(*batch, n, …, n)`` (``k`` axes) → ``l`` axes.

    Integer inputs (``x`` or ``weights``) are promoted to the floating dtype of the other,
    or to the default dtype when neither is floating; floating inputs of different precision
    meet at the wider one.
    """
    k, l = program.k, program.l
    dtype = torch.promote_types(weights.dtype, x.dtype)
    if not (dtype.is_floating_point or dtype.is_complex):
        dtype = torch.get_default_dtype()
    batch = x.shape[: x.dim() - k]
    flat = x.to(dtype).reshape(-1, 1, *([n] * k))
    out = execute(program, weights.to(dtype).reshape(-1, 1, 1), flat, n, backend=backend)
    return out.reshape(*batch, *([n] * l))


def _check_element_input(x: torch.Tensor, k: int, n: int) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() < k or any(s != n for s in x.shape[x.dim() - k :]):
        raise ValueError(f"x must end in k={k} axes of size n={n}, got shape {tuple(x.shape)}")


def apply_element(element, x: torch.Tensor, n: int, backend: str = "torch") -> torch.Tensor:
    """Apply one Brauer (partition), symplectic Brauer or Brauer–Grood diagram to ``x``.

    Args:
        element: a :class:`PartitionDiagram`, :class:`SymplecticBrauerDiagram` or
            :class:`BrauerGroodDiagram`.
        x: ``(*batch, n, …, n)`` with ``element.k`` trailing axes.
        n: the dimension.
        backend: ``"torch"`` or ``"cpp"``: who runs the generalised-diagonal reductions and
            embeddings (:mod:`geomlayers.ops.layer`); the form / ε steps are torch either way.

    Returns:
        ``(*batch, n, …, n)`` with ``element.l`` trailing axes: ``W x`` per batch entry.

    """
    if isinstance(element, PartitionDiagram):
        _check_element_input(x, element.k, n)
        return apply_partition_diagram(element, x, n, backend)
    if isinstance(element, SymplecticBrauerDiagram):
        return apply_symplectic_brauer(element, x, n, backend)
    if isinstance(element, BrauerGroodDiagram):
        return apply_brauer_grood(element, x, n, backend)
    raise TypeError(f"no fast product for {type(element).__name__}")


def _paired_product(elements, weight: torch.Tensor, x: torch.Tensor, n: int,
                    backend: str) -> torch.Tensor:
    """``Σ_i Σ_c weight[i, o, c] (W_i X[b, c])``, mixing channels at the smaller order."""
    k, l = elements[0].k, elements[0].l
    out = None
    for element, mixing in zip(elements, weight, strict=True):
        if k <= l:
            mixed = torch.einsum("oc,bc...->bo...", mixing, x)
            term = apply_element(element, mixed, n, backend)
        else:
            applied = apply_element(element, x, n, backend)
            term = torch.einsum("oc,bc...->bo...", mixing, applied)
        out = term if out is None else out + term
    return out


def apply_elements(
    elements, weight: torch.Tensor, x: torch.Tensor, n: int, backend: str = "torch"
) -> torch.Tensor:
    """Channel-mixing layer product ``Y[b, o] = Σ_i Σ_c Λ_i[o, c] · (W_i X[b, c])``.

    Args:
        elements: ``m`` elements with the same ``k``, ``l`` (partition, Brauer-type, or any
            element with ``entries(n)``).
        weight: ``(m, C_out, C_in)``.
        x: ``(batch, C_in, n, …, n)`` (``k`` trailing axes).
        n: the dimension.

    Returns:
        ``(batch, C_out, n, …, n)`` (``l`` trailing axes), through :func:`execute`.

    """
    elements = list(elements)
    if not elements:
        raise ValueError("elements must be a non-empty sequence")
    k, l = elements[0].k, elements[0].l
    if any((e.k, e.l) != (k, l) for e in elements):
        raise ValueError("all elements must have the same (k, l)")
    if weight.dim() != 3 or weight.shape[0] != len(elements):
        raise ValueError(
            f"weight must have shape ({len(elements)}, C_out, C_in), got {tuple(weight.shape)}"
        )
    if x.dim() != k + 2 or x.shape[1] != weight.shape[2]:
        raise ValueError(
            f"x must have shape (batch, C_in={weight.shape[2]}{', n' * k}), got {tuple(x.shape)}"
        )
    program = build_program(elements, k, l, n)
    return execute(program, weight.to(dtype=x.dtype), x, n, backend=backend)
