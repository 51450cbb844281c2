"""The S_n ``2 → 2`` diagram layer as one autograd node.

The fifteen partition diagrams of ``(R^n)^{⊗2} → (R^n)^{⊗2}`` (Maron et al., "Invariant and
Equivariant Graph Networks", arXiv 1812.09902; Pearce-Crump, arXiv 2304.14165; see
``docs/layers.md``) factor through five input reductions and three output embeddings:

* full-size terms: ``X`` and ``Xᵀ``, mixed over channels by one matmul at ``n²``;
* order-1 reductions ``R = [row sums, column sums, diagonal, total, trace]`` (the scalars
  broadcast along ``n``), mixed by one matmul into three order-1 outputs ``[a, b, d]``;
* the output ``Y[i, j] = F[i, j] + a[i] + b[j] + [i = j] d[i]`` (a constant output joins
  ``a``, a diagonal constant joins ``d``).

Forward and backward are each a handful of batched ops; the backward is the adjoint written
out (reductions of the output gradient, the transposed matmuls, the embeddings), instead of
autograd recording every small op of the general path in :mod:`geomlayers.ops.layer`.
The result equals that path's to rounding; the dense ``n² × n²`` matrix is never formed.

With ``kernel=True`` (the ``cpp`` backend on CPU) forward and backward are the C++ ops
``geomlayers::fused22_forward`` / ``fused22_backward`` (``geomlayers/csrc/fused_two_to_two.cpp``):
the full-size terms are computed on the symmetric and antisymmetric parts,
``P = ½(W_A + W_B)(X + Xᵀ)`` and ``Q = ½(W_A − W_B)(X − Xᵀ)``, of which only the upper
triangles are multiplied (one channel matmul's flops), with ``Y[i, j] = P + Q`` and
``Y[j, i] = P − Q``; see ``docs/backends.md``. Double backward uses the PyTorch formulas.
"""

from __future__ import annotations

import torch

from geomlayers.ops.plan import Embedding, LayerPlan, Reduction

__all__ = ["fused_layout", "fused_two_to_two"]

# input slots: 0 X, 1 Xᵀ (full size); vector slots 0 rows, 1 cols, 2 diag, 3 total, 4 trace
_REDUCTIONS = {
    Reduction((0, 1), (True, False)): 0,
    Reduction((0, 1), (False, True)): 1,
    Reduction((0, 0), (True,)): 2,
    Reduction((0, 1), (False, False)): 3,
    Reduction((0, 0), (False,)): 4,
}
# output slots: 0 a[i] (row-wise broadcast over j), 1 b[j], 2 d (diagonal)
_EMBEDDINGS = {
    Embedding((0, 1), (True, False)): 0,
    Embedding((0, 1), (False, True)): 1,
    Embedding((0, 0), (True,)): 2,
    Embedding((0, 1), (False, False)): 0,
    Embedding((0, 0), (False,)): 2,
}
_FULL_IN = Reduction((0, 1), (True, True))
_FULL_OUT = Embedding((0, 1), (True, True))
# powers of 1/n of each vector slot under ``normalize`` (summed blocks of its reduction)
_SUMMED = (1, 1, 0, 2, 1)


def fused_layout(plan: LayerPlan, bias_plan: LayerPlan | None = None) -> tuple | None:
    """Slot tables of a ``2 → 2`` plan for :func:`fused_two_to_two`, or ``None``.

    Returns ``(full, vector, inverse, bias)``: ``full`` (2 element indices, ``E`` = zero) for
    the ``X`` and ``Xᵀ`` terms; ``vector`` (15 = 3 outputs × 5 reductions, row-major);
    ``inverse[e]`` the block of element ``e`` among the 17 stacked blocks; ``bias`` (3 bias
    rows or ``J`` = zero) per output slot, or ``None`` without a bias plan. ``None`` when
    the plan is not a ``2 → 2`` plan the layout holds (each slot at most once).
    """
    if (plan.k, plan.l) != (2, 2):
        return None
    count = plan.num_elements
    full, vector = [count, count], [count] * 15
    for embedding, terms in plan.outputs:
        for term in terms:
            reduction = plan.reductions[term.reduction]
            if embedding == _FULL_OUT and reduction == _FULL_IN:
                slot, table = (0 if term.permutation == (0, 1) else 1), full
            elif embedding in _EMBEDDINGS and reduction in _REDUCTIONS:
                slot, table = 5 * _EMBEDDINGS[embedding] + _REDUCTIONS[reduction], vector
            else:
                return None
            if table[slot] != count:
                return None
            table[slot] = term.element
    blocks = full + vector
    inverse = tuple(blocks.index(e) for e in range(count))
    bias = None
    if bias_plan is not None:
        bias = [bias_plan.num_elements] * 3
        for embedding, terms in bias_plan.outputs:
            slot = 0 if embedding == Embedding((0, 1), (False, False)) else (
                2 if embedding == Embedding((0, 0), (False,)) else None)
            if slot is None or len(terms) != 1 or bias[slot] != bias_plan.num_elements:
                return None
            bias[slot] = terms[0].element
        bias = tuple(bias)
    return tuple(full), tuple(vector), inverse, bias


def _weights(weight: torch.Tensor, full: tuple, vector: tuple) -> tuple:
    """``(D, 2C)`` full-size and ``(3D, 5C)`` order-1 mixing matrices from ``(E, D, C)``."""
    _, out_channels, in_channels = weight.shape
    padded = torch.cat([weight, weight.new_zeros(1, out_channels, in_channels)])
    w_full = padded[list(full)].permute(1, 0, 2).reshape(out_channels, 2 * in_channels)
    w_vec = padded[list(vector)].reshape(3, 5, out_channels, in_channels)
    w_vec = w_vec.permute(0, 2, 1, 3).reshape(3 * out_channels, 5 * in_channels)
    return w_full, w_vec


def _inputs(x: torch.Tensor, scale) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, 2C, n²)`` stacked ``[X, Xᵀ]`` and ``(B, n, 5C)`` scaled order-1 reductions.

    The order-1 reductions put the node axis before channels, so their mixing is one
    ``(B·n, 5C) × (5C, 3D)`` matmul rather than ``B`` thin ones.
    """
    batch, channels, n = x.shape[0], x.shape[1], x.shape[-1]
    stacked = torch.cat([x, x.transpose(-1, -2)], dim=1).reshape(batch, 2 * channels, n * n)
    rows, cols = x.sum(-1).transpose(1, 2), x.sum(-2).transpose(1, 2)  # (B, n, C)
    diag = x.diagonal(dim1=-2, dim2=-1).transpose(1, 2)
    total, trace = rows.sum(1, keepdim=True), diag.sum(1, keepdim=True)  # (B, 1, C)
    if scale is not None:
        rows, cols, total, trace = rows * scale, cols * scale, total * scale**2, trace * scale
    vec = torch.cat([rows, cols, diag, total.expand(-1, n, -1), trace.expand(-1, n, -1)],
                    dim=-1)
    return stacked, vec


def _forward_kernel(x, weight, bias, scale, full, vector, bias_index):
    """:func:`_forward` through the C++ ``geomlayers::fused22_forward`` op."""
    out, sym, anti, vec = torch.ops.geomlayers.fused22_forward(
        x, weight, full + vector, scale, bias, () if bias_index is None else bias_index)
    return out, (sym, anti, vec)


def _forward(x, weight, bias, scale, full, vector, bias_index):
    """The layer's output and the ``(w_full, w_vec, stacked, vec)`` its backward reuses."""
    batch, n = x.shape[0], x.shape[-1]
    out_channels = weight.shape[1]
    w_full, w_vec = _weights(weight, full, vector)
    stacked, vec = _inputs(x, scale)
    out = torch.bmm(w_full.expand(batch, *w_full.shape), stacked)
    small = (vec.reshape(batch * n, -1) @ w_vec.t()).reshape(batch, n, 3 * out_channels)
    if bias is not None:
        padded = torch.cat([bias, bias.new_zeros(1, out_channels)])
        small = small + padded[list(bias_index)].reshape(3 * out_channels)
    small = small.transpose(1, 2)  # (B, 3D, n)
    out = out.reshape(batch, out_channels, n, n)
    out.add_(small[:, :out_channels, :, None]).add_(small[:, out_channels:2 * out_channels, None])
    out.diagonal(dim1=-2, dim2=-1).add_(small[:, 2 * out_channels:])
    return out, (w_full, w_vec, stacked, vec)


class _TwoToTwo(torch.autograd.Function):
    """One autograd node for the whole ``2 → 2`` layer (see the module docstring)."""

    @staticmethod
    def forward(ctx, x, weight, bias, scale, full, vector, inverse, bias_index, kernel):
        ctx.layout = (full, vector, inverse, bias_index)
        ctx.has_bias = bias is not None
        ctx.bias_rows = 0 if bias is None else bias.shape[0]
        ctx.kernel = kernel
        if kernel:
            out, reuse = _forward_kernel(x, weight, bias, scale, full, vector, bias_index)
        else:
            out, reuse = _forward(x, weight, bias, scale, full, vector, bias_index)
        ctx.save_for_backward(x, weight, scale, *reuse)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight, scale, *reuse = ctx.saved_tensors
        full, vector, inverse, bias_index = ctx.layout
        batch, channels, n = x.shape[0], x.shape[1], x.shape[-1]
        out_channels = weight.shape[1]
        grad = grad.contiguous()
        grad_x = grad_weight = grad_bias = None
        if ctx.kernel and not torch.is_grad_enabled():
            sym, anti, vec = reuse
            grad_x, grad_weight, grad_bias = torch.ops.geomlayers.fused22_backward(
                grad, sym, anti, vec, weight, full + vector, scale, ctx.bias_rows,
                () if bias_index is None else bias_index, ctx.needs_input_grad[0])
            return (grad_x if ctx.needs_input_grad[0] else None,
                    grad_weight if ctx.needs_input_grad[1] else None,
                    grad_bias if ctx.has_bias and ctx.needs_input_grad[2] else None,
                    None, None, None, None, None, None)
        if ctx.kernel or torch.is_grad_enabled():
            # double backward (or a kernel forward): rebuild the reused tensors on the graph
            w_full, w_vec = _weights(weight, full, vector)
            stacked, vec = _inputs(x, scale)
        else:
            w_full, w_vec, stacked, vec = reuse
        flat = grad.reshape(batch, out_channels, n * n)
        # (B·n, 3D): the adjoint of the three embeddings, node axis first
        small = torch.cat([grad.sum(-1).transpose(1, 2), grad.sum(-2).transpose(1, 2),
                           grad.diagonal(dim1=-2, dim2=-1).transpose(1, 2)], dim=-1)
        small = small.reshape(batch * n, 3 * out_channels)
        if ctx.needs_input_grad[0]:
            parts = torch.bmm(w_full.t().expand(batch, 2 * channels, out_channels), flat)
            parts = parts.reshape(batch, 2, channels, n, n)
            grad_x = parts[:, 0] + parts[:, 1].transpose(-1, -2)
            g = (small @ w_vec).reshape(batch, n, 5 * channels).transpose(1, 2)  # (B, 5C, n)
            g_rows, g_cols = g[:, :channels], g[:, channels:2 * channels]
            g_diag = g[:, 2 * channels:3 * channels]
            g_total = g[:, 3 * channels:4 * channels].sum(-1, keepdim=True)
            g_trace = g[:, 4 * channels:].sum(-1, keepdim=True)
            if scale is not None:
                g_rows, g_cols = g_rows * scale, g_cols * scale
                g_total, g_trace = g_total * scale**2, g_trace * scale
            grad_x = grad_x + (g_rows + g_total)[..., None] + g_cols[..., None, :]
            grad_x.diagonal(dim1=-2, dim2=-1).add_(g_diag + g_trace)
        if ctx.needs_input_grad[1]:
            d_full = torch.bmm(flat, stacked.transpose(1, 2)).sum(0)  # (D, 2C)
            d_vec = small.t() @ vec.reshape(batch * n, 5 * channels)  # (3D, 5C)
            grad_weight = _weight_grad(d_full, d_vec, inverse, channels, out_channels)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            per_slot = small.sum(0).reshape(3, out_channels)
            grad_bias = per_slot[[bias_index.index(j) for j in range(ctx.bias_rows)]]
        return grad_x, grad_weight, grad_bias, None, None, None, None, None, None


def _weight_grad(d_full, d_vec, inverse, channels, out_channels):
    """``(E, D, C)`` weight gradient from the ``(D, 2C)`` and ``(3D, 5C)`` mixing gradients."""
    blocks = torch.cat([
        d_full.reshape(out_channels, 2, channels).permute(1, 0, 2),
        d_vec.reshape(3, out_channels, 5, channels).permute(0, 2, 1, 3).reshape(
            15, out_channels, channels),
    ])
    return blocks[list(inverse)]


def fused_two_to_two(
    x: torch.Tensor,
    weight: torch.Tensor,
    layout: tuple,
    scale: torch.Tensor | float | None = None,
    bias: torch.Tensor | None = None,
    kernel: bool = False,
) -> torch.Tensor:
    """``Y = Σ_i weight[i] · s_i · D_i X`` for the ``2 → 2`` plan described by ``layout``.

    Args:
        x: ``(B, C_in, n, n)``; entries off the real nodes already zero (masking is the
            caller's, by selection).
        weight: ``(E, C_out, C_in)`` in the plan's element order.
        layout: from :func:`fused_layout`.
        scale: ``1/n`` (a float or a ``(B, 1, 1)`` tensor of per-sample ``1/n_b``) to take
            means over summed blocks, or ``None`` for sums.
        bias: optional ``(J, C_out)`` weights of the bias plan's constant and diagonal
            constant (its element order).
        kernel: run forward and backward through the C++ ops ``geomlayers::fused22_forward``
            / ``fused22_backward`` (the extension must be loaded; CPU float32 / float64
            only, other inputs take the PyTorch path). Double backward always takes the
            PyTorch formulas.

    Returns:
        ``(B, C_out, n, n)``, on the autograd graph through one node.

    """
    full, vector, inverse, bias_index = layout
    if bias is not None and bias_index is None:
        raise ValueError("bias given but the layout was built without a bias plan")
    if isinstance(scale, float):
        scale = x.new_full((1, 1, 1), scale)
    kernel = kernel and x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
    return _TwoToTwo.apply(x.contiguous(), weight, bias, scale, full, vector, inverse,
                           bias_index, kernel)
