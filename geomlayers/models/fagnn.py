"""FA-GNN: frame-averaged message passing (Puny et al., ICLR 2022, §5.3).

Puny et al., "Frame Averaging for Invariant and Equivariant Network Design". The n-body
model of the frame-averaging paper: a plain (non-equivariant) message-passing
network (:class:`~geomlayers.nn.fa_gnn.GNN`) whose inputs are expressed in each of the 8
elements of the E(3) PCA frame of the positions (:class:`~geomlayers.nn.frames.PCAFrame`),
run once on the 8 copies folded into the batch, with outputs mapped back by ``ρ_out`` and
averaged. As in the paper's model, after every message-passing layer but the last the hidden
state (``hidden = 3 m``) is read as ``m`` latent vectors per node, mapped back to world
coordinates and averaged over the frame (an equivariant quantity), and a new O(3) PCA frame
is computed from these latent vectors (``latent_frames=True``); the final vectors are
averaged in that last frame. The output is ``x + (1/|F|) Σ_g R_g y_g``: E(3)-equivariant,
reflections included, for any weights. Pure PyTorch (no torch_geometric needed).
"""

from __future__ import annotations

import torch
from torch import nn

from geomlayers.groups.base import as_generator
from geomlayers.nn.fa_gnn import GNN
from geomlayers.nn.frames import FrameElements, PCAFrame, _layout

__all__ = ["FAGNN"]


class FAGNN(nn.Module):
    """Frame-averaged GNN for the n-body task (FA §5.3), E(3)-equivariant.

    Args:
        hidden: hidden size (a multiple of 3 when ``latent_frames``; paper: 60).
        layers: number of :class:`GCL` layers (paper: 4).
        latent_frames: re-frame the latent vectors after every layer but the last (paper's
            model); ``False``: one frame from the input positions for the whole network.
        frame_kwargs: options of the :class:`~geomlayers.nn.frames.PCAFrame` s
            (``gap_tol``, ``on_degenerate``).
        stochastic: ``None`` or ``k``: in training mode use ``k`` frame elements drawn
            uniformly from each frame (input and latent ones) instead of all 8 (stochastic FA,
            FAENet-style: ~8/k times cheaper); evaluation always averages the full frames.
        generator: seed / generator for those draws.

    Forward: ``pos (nodes, 3)``, ``vel (nodes, 3)``, ``charges (nodes, 1)``, ``edge_index
    (2, E)``, ``batch (nodes,)`` -> predicted positions ``(nodes, 3)``. Node inputs in the
    frame: ``(x - t) R``, ``v R``, ``q``, ``‖v‖``; edge inputs: ``q_i q_j``, ``‖x_i - x_j‖²``.

    """

    def __init__(self, hidden: int = 60, layers: int = 4, *, latent_frames: bool = True,
                 frame_kwargs: dict | None = None, stochastic: int | None = None,
                 generator: torch.Generator | int | None = None, device=None,
                 dtype=None) -> None:
        super().__init__()
        if stochastic is not None and (isinstance(stochastic, bool) or
                                       not isinstance(stochastic, int) or stochastic < 1):
            raise ValueError(f"stochastic must be None or an int >= 1, got {stochastic!r}")
        self.stochastic = stochastic
        self.generator = as_generator(generator)
        if latent_frames and hidden % 3:
            raise ValueError(f"hidden must be a multiple of 3 with latent_frames, got {hidden}")
        frame_kwargs = frame_kwargs or {}
        self.input_frame = PCAFrame(3, linear="O", translation=True, **frame_kwargs)
        self.latent_frame = PCAFrame(3, linear="O", translation=False, **frame_kwargs)
        self.latent_frames = latent_frames
        self.gnn = GNN(8, 2, 3, hidden, layers, device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        """Re-initialise the backbone."""
        self.gnn.reset_parameters()

    def extra_repr(self) -> str:
        """``latent_frames``."""
        return (f"latent_frames={self.latent_frames}, frame_size=8, "
                f"stochastic={self.stochastic}")

    def forward(self, pos: torch.Tensor, vel: torch.Tensor, charges: torch.Tensor,
                edge_index: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        """Predicted positions ``(nodes, 3)``; see the class docstring."""
        layout = _layout(pos, None, batch, None, base_dims=1)
        elements = self._maybe_sample(self.input_frame(pos, batch=batch))
        k, n = elements.size, pos.shape[0]
        pos_c = self.input_frame.canonicalize(elements, pos, "point", layout)
        vel_c = self.input_frame.canonicalize(elements, vel, "vector", layout)
        invariant = torch.cat([charges, vel.norm(dim=-1, keepdim=True)], -1).repeat(k, 1)
        h = self.gnn.embed(torch.cat([pos_c, vel_c, invariant], -1))
        offsets = torch.arange(k, device=pos.device).view(k, 1, 1) * n
        edges = (edge_index.unsqueeze(0) + offsets).transpose(0, 1).reshape(2, -1)
        row, col = edge_index
        edge_attr = torch.stack([(charges[row] * charges[col]).squeeze(-1),
                                 (pos[row] - pos[col]).pow(2).sum(-1)], -1).repeat(k, 1)
        for index, layer in enumerate(self.gnn.layers):
            h = layer(h, edges, edge_attr)
            if self.latent_frames and index < len(self.gnn.layers) - 1:
                h, elements = self._reframe(h, elements, layout, batch)
        y = self.gnn.decoder(h)  # (K·nodes, 3) in the frame
        return pos + self.input_frame.restore(elements, y, "vector", layout, node_level=True)

    def _maybe_sample(self, elements: FrameElements) -> FrameElements:
        if not self.training or self.stochastic is None or self.stochastic >= elements.size:
            return elements
        scores = torch.rand(elements.weights.shape, generator=self.generator)
        index = scores.argsort(1)[:, : self.stochastic]
        return elements.subset(index.to(elements.weights.device))

    def _reframe(self, h, elements, layout, batch):
        """Latent vectors -> world (frame average) -> new O(3) frame -> canonical again."""
        k, n = elements.size, layout.num_nodes
        m = h.shape[-1] // 3
        vectors = h.reshape(k * n, m, 3)
        world = self.input_frame.restore(elements, vectors, "vector", layout, node_level=True)
        flat = world.reshape(n * m, 3)
        flat_batch = batch.repeat_interleave(m)
        flat_layout = _layout(flat, None, flat_batch, layout.num_graphs, base_dims=1)
        latent = self._maybe_sample(
            self.latent_frame(flat, batch=flat_batch, num_graphs=layout.num_graphs))
        canon = self.latent_frame.canonicalize(latent, flat, "vector", flat_layout)
        return canon.reshape(k * n, m * 3), latent
