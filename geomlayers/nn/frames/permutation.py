"""S_n frames of graphs from Laplacian-based canonical orderings (Puny et al., §3.1)."""

from __future__ import annotations

import itertools
import math
import warnings

import torch

from geomlayers.groups.base import as_generator
from geomlayers.groups.permutation import SymmetricGroup
from geomlayers.nn.frames.elements import _GRAPH_TYPES, Frame, FrameElements, FrameWarning
from geomlayers.nn.frames.layout import BatchLayout, _fold_nodes
from geomlayers.validation import check_int

__all__ = ["PermutationFrame"]


class PermutationFrame(Frame):
    """S_n frames of graphs from canonical orderings (FA §3.1; Laplacian sorting with ties).

    Each node gets a key that permutes with the nodes: padding flag, degree, the diagonal
    ``P_λ[i, i]`` of the Laplacian's eigenprojector of every distinct eigenvalue (ascending;
    eigenvalues within ``eig_tol`` relative are one eigenvalue), then optionally the node
    features; keys are rounded to ``decimals``. The frame is the set of all orderings that
    sort the keys (lexicographically): every ordering of each block of tied nodes, i.e.
    ``Π_blocks (size!)`` elements — exactly equivariant — as long as that is at most
    ``max_elements``; beyond, ``max_elements`` random tie-breaks (uniform within each block)
    and a :class:`FrameWarning`.

    Inputs (``FrameAveraging`` types): ``"adjacency"`` ``(B, N, N)`` (the first one builds
    the frame; weighted symmetric adjacency), ``"node"`` ``(B, N, F)`` node features,
    ``"scalar"`` (passed through). Variable graph sizes: a ``(B, N)`` mask. Elements are
    permutations of ``SymmetricGroup(N)`` (``matrices()`` gives ``P_σ`` with
    ``P_σ[σ(j), j] = 1``; canonicalisation is ``P_σ^{-1} X``).

    >>> adjacency = torch.tensor([[[0., 1, 0], [1, 0, 1], [0, 1, 0]]])
    >>> PermutationFrame()(adjacency).size   # the path 0-1-2: two orderings of the ends
    2
    """

    input_types = _GRAPH_TYPES
    output_types = ("node", "scalar")

    def __init__(self, *, n: int | None = None, max_elements: int = 64, decimals: int = 6,
                 eig_tol: float = 1e-6, use_features: bool = True,
                 generator: torch.Generator | int | None = None) -> None:
        super().__init__()
        if n is not None:
            n = check_int("n", n, minimum=1)
        self.n = n
        max_elements = check_int("max_elements", max_elements, minimum=1)
        decimals = check_int("decimals", decimals, minimum=0)
        self.max_elements, self.decimals, self.eig_tol = max_elements, decimals, eig_tol
        self.use_features = use_features
        self.generator = as_generator(generator)

    def extra_repr(self) -> str:
        """``n, max_elements, decimals, use_features``."""
        return (f"n={self.n}, max_elements={self.max_elements}, decimals={self.decimals}, "
                f"use_features={self.use_features}")

    @torch.no_grad()
    def forward(self, adjacency: torch.Tensor, features: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> FrameElements:
        """Frames of dense graphs ``adjacency (B, N, N)``, ``features (B, N, F)``."""
        if not isinstance(adjacency, torch.Tensor) or adjacency.dim() != 3 or \
                adjacency.shape[1] != adjacency.shape[2]:
            shape = tuple(adjacency.shape) if isinstance(adjacency, torch.Tensor) else adjacency
            raise ValueError(f"adjacency must be a (batch, N, N) tensor, got {shape}")
        b, n, _ = adjacency.shape
        if self.n is not None and n != self.n:
            raise ValueError(f"this frame is for SymmetricGroup({self.n}): adjacency must be "
                             f"({b}, {self.n}, {self.n}), got {tuple(adjacency.shape)}")
        if mask is not None and mask.shape != (b, n):
            raise ValueError(f"mask must have shape ({b}, {n}), got {tuple(mask.shape)}")
        if features is not None and features.shape[:2] != (b, n):
            raise ValueError(f"node features must have shape ({b}, {n}, F), got "
                             f"{tuple(features.shape)}")
        dtype, device = adjacency.dtype, adjacency.device
        if not dtype.is_floating_point:
            raise TypeError(f"adjacency must be a floating-point tensor, got {dtype}")
        adjacency = adjacency.detach().to(torch.float64).cpu()
        if mask is not None:  # padding is never read: select, not multiply (NaN stays out)
            adjacency = _zero_padding(adjacency, mask.cpu().bool(), True)
        if not bool(torch.isfinite(adjacency).all()):
            raise ValueError("adjacency contains NaN or inf between real (unmasked) nodes")
        if not torch.allclose(adjacency, adjacency.transpose(1, 2)):
            raise ValueError("adjacency must be symmetric (undirected graphs)")
        mask = torch.ones(b, n, dtype=torch.bool) if mask is None else mask.cpu().bool()
        feats = None
        if features is not None and self.use_features:
            feats = features.detach().to(torch.float64).cpu().reshape(b, n, -1)
        frames = [self._graph_frame(adjacency[i], mask[i], None if feats is None else feats[i])
                  for i in range(b)]
        k = max(f.shape[0] for f in frames)
        perms = torch.stack([torch.cat([f, f[:1].expand(k - f.shape[0], -1)]) for f in frames])
        weights = torch.stack([torch.cat([
            torch.full((f.shape[0],), 1.0 / f.shape[0], dtype=torch.float64),
            torch.zeros(k - f.shape[0], dtype=torch.float64)]) for f in frames])
        return FrameElements(SymmetricGroup(n), weights.to(dtype=dtype, device=device),
                             permutation=perms.to(device))

    def _keys(self, adjacency, mask, feats) -> torch.Tensor:
        """``(N, c)`` rounded node keys; padded nodes first column 1 so they sort last."""
        valid = mask.nonzero().flatten()
        sub = adjacency[valid][:, valid]
        laplacian = torch.diag(sub.sum(1)) - sub
        values, vectors = torch.linalg.eigh(laplacian)
        scale = max(1.0, float(values.abs().max())) if values.numel() else 1.0
        columns = [sub.sum(1)]
        start = 0
        for i in range(1, values.numel() + 1):
            if i == values.numel() or values[i] - values[i - 1] > self.eig_tol * scale:
                columns.append((vectors[:, start:i] ** 2).sum(1))
                start = i
        if feats is not None:
            columns.extend(feats[valid].T)
        keys = torch.zeros(mask.shape[0], len(columns) + 1, dtype=torch.float64)
        keys[:, 0] = (~mask).double()
        keys[valid, 1:] = torch.stack(columns, 1)
        return torch.round(keys * 10**self.decimals)

    def _graph_frame(self, adjacency, mask, feats) -> torch.Tensor:
        keys = self._keys(adjacency, mask, feats)
        order = sorted(range(keys.shape[0]), key=lambda i: (tuple(keys[i].tolist()), i))
        blocks, start = [], 0
        for j in range(1, len(order) + 1):
            if j == len(order) or not torch.equal(keys[order[j]], keys[order[j - 1]]):
                if j - start > 1 and bool(mask[order[start]]):
                    blocks.append((start, j))
                start = j
        total = math.prod(math.factorial(hi - lo) for lo, hi in blocks)
        base = torch.tensor(order)
        if total <= self.max_elements:
            choices = itertools.product(*[itertools.permutations(range(lo, hi))
                                          for lo, hi in blocks])
            return torch.stack([self._apply(base, blocks, c) for c in choices])
        warnings.warn(f"S_n frame has {total} tie-breaking orderings > max_elements="
                      f"{self.max_elements}; averaging over {self.max_elements} random ones "
                      "(invariant only in distribution)", FrameWarning, stacklevel=5)
        samples = []
        for _ in range(self.max_elements):
            choice = [tuple(lo + int(p) for p in torch.randperm(hi - lo,
                                                              generator=self.generator))
                      for lo, hi in blocks]
            samples.append(self._apply(base, blocks, choice))
        return torch.stack(samples)

    @staticmethod
    def _apply(base, blocks, choice) -> torch.Tensor:
        perm = base.clone()
        for (lo, hi), positions in zip(blocks, choice, strict=True):
            perm[lo:hi] = base[list(positions)]
        return perm

    def canonicalize(self, elements: FrameElements, x: torch.Tensor, kind: str,
                     layout: BatchLayout) -> torch.Tensor:
        """``P_σ^{-1} x`` on node axis 1 (``"node"``) or 1, 2 (``"adjacency"``): ``(B*K, …)``."""
        k = elements.size
        perm = elements.permutation.to(x.device)  # (B, K, N)
        if layout.dense and layout.mask is not None and kind != "scalar":
            x = _zero_padding(x, layout.mask.to(x.device), kind == "adjacency")
        if kind == "scalar":
            return _fold_nodes(x, k, layout)
        b, n = perm.shape[0], perm.shape[2]
        rows = perm.reshape(b, k, n, *[1] * (x.dim() - 2)).expand(b, k, n, *x.shape[2:])
        out = torch.gather(x.unsqueeze(1).expand(b, k, *x.shape[1:]), 2, rows)
        if kind == "adjacency":
            cols = perm.reshape(b, k, 1, n).expand(b, k, n, n)
            out = torch.gather(out, 3, cols)
        return out.reshape(b * k, *x.shape[1:])

    def restore(self, elements: FrameElements, y: torch.Tensor, kind: str,
                layout: BatchLayout, node_level: bool) -> torch.Tensor:
        """Put node outputs back in input order (``P_σ y``) and average."""
        b, k = elements.weights.shape
        y = y.reshape(b, k, *y.shape[1:])
        if kind == "node":
            perm = elements.permutation.to(y.device)
            index = perm.reshape(*perm.shape, *[1] * (y.dim() - 3)).expand_as(y)
            y = torch.zeros_like(y).scatter_(2, index, y)
        w = elements.weights.to(y).reshape(b, k, *[1] * (y.dim() - 2))
        return (w * y).sum(1)


def _zero_padding(x: torch.Tensor, mask: torch.Tensor, square: bool) -> torch.Tensor:
    """Zeros at masked-out nodes of ``x`` ``(B, N, ...)`` (and ``(B, N, N, ...)`` columns)."""
    keep = mask.reshape(*mask.shape, *[1] * (x.dim() - 2))
    if square:
        keep = keep & mask.reshape(mask.shape[0], 1, mask.shape[1], *[1] * (x.dim() - 3))
    return torch.where(keep, x, x.new_zeros(()))
