"""Message passing for the frame-averaging n-body model (Puny et al., ICLR 2022, §5.3).

:class:`GCL` is the EGNN-style graph convolution without coordinates (Satorras et al. 2021,
eq. 2 without the coordinate update): ``m_ij = φ_e(h_i, h_j, e_ij)``,
``h_i ← h_i + φ_h(h_i, Σ_j m_ij)``. :class:`GNN` stacks them (the paper's "GNN" baseline);
:func:`nbody_graph` flattens a dense n-body batch into one graph. Pure PyTorch, in PyG's
``edge_index`` convention (messages flow from ``edge_index[0]`` to ``edge_index[1]``). The
frame-averaged model is :class:`geomlayers.models.FAGNN`.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

__all__ = ["GCL", "GNN", "nbody_graph"]


class GCL(nn.Module):
    """EGNN-style graph convolution (no coordinates), sum aggregation, residual.

    Args:
        hidden: node feature size ``h``; edge_features: size of ``e_ij``.

    Shapes: ``h (nodes, hidden)``, ``edge_index (2, E)``, ``edge_attr (E, edge_features)``
    -> ``(nodes, hidden)``.

    """

    def __init__(self, hidden: int, edge_features: int, *, device=None, dtype=None) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.hidden, self.edge_features = hidden, edge_features
        self.edge_mlp = nn.Sequential(nn.Linear(2 * hidden + edge_features, hidden, **kw),
                                      nn.SiLU(), nn.Linear(hidden, hidden, **kw), nn.SiLU())
        self.node_mlp = nn.Sequential(nn.Linear(2 * hidden, hidden, **kw), nn.SiLU(),
                                      nn.Linear(hidden, hidden, **kw))

    def reset_parameters(self) -> None:
        """Re-initialise both MLPs."""
        for layer in (*self.edge_mlp, *self.node_mlp):
            if isinstance(layer, nn.Linear):
                layer.reset_parameters()

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor,
                edge_attr: torch.Tensor) -> torch.Tensor:
        """One round of message passing; see the class docstring."""
        source, target = edge_index[0], edge_index[1]
        messages = self.message(h[target], h[source], edge_attr)
        aggregated = h.new_zeros(h.shape[0], messages.shape[-1]).index_add_(0, target, messages)
        return h + self.node_mlp(torch.cat([h, aggregated], -1))

    def message(self, h_i: torch.Tensor, h_j: torch.Tensor,
                edge_attr: torch.Tensor) -> torch.Tensor:
        """``φ_e(h_i, h_j, e_ij)`` for each edge ``j → i``."""
        return self.edge_mlp(torch.cat([h_i, h_j, edge_attr], -1))

    def extra_repr(self) -> str:
        """``hidden, edge_features``."""
        return f"hidden={self.hidden}, edge_features={self.edge_features}"


class GNN(nn.Module):
    """Plain message-passing network: embedding, ``layers`` × :class:`GCL`, MLP decoder.

    Not equivariant to anything but node permutations. Shapes: ``x (nodes, in_features)``,
    ``edge_index (2, E)``, ``edge_attr (E, edge_features)`` -> ``(nodes, out_features)``.
    """

    def __init__(self, in_features: int, edge_features: int, out_features: int,
                 hidden: int = 60, layers: int = 4, *, device=None, dtype=None) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("edge_features", edge_features),
                            ("out_features", out_features), ("hidden", hidden),
                            ("layers", layers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        kw = {"device": device, "dtype": dtype}
        self.embed = nn.Linear(in_features, hidden, **kw)
        self.layers = nn.ModuleList(GCL(hidden, edge_features, **kw) for _ in range(layers))
        self.decoder = nn.Sequential(nn.Linear(hidden, hidden, **kw), nn.SiLU(),
                                     nn.Linear(hidden, out_features, **kw))

    def reset_parameters(self) -> None:
        """Re-initialise all layers."""
        self.embed.reset_parameters()
        for layer in self.layers:
            layer.reset_parameters()
        for layer in self.decoder:
            if isinstance(layer, nn.Linear):
                layer.reset_parameters()

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor,
                batch: torch.Tensor | None = None) -> torch.Tensor:
        """Node outputs ``(nodes, out_features)`` (``batch`` is accepted and unused)."""
        h = self.embed(x)
        for layer in self.layers:
            h = layer(h, edge_index, edge_attr)
        return self.decoder(h)


def nbody_graph(loc: torch.Tensor, vel: torch.Tensor, charges: torch.Tensor):
    """Flatten a dense n-body batch into a fully connected PyG-style graph.

    Args:
        loc, vel: ``(B, P, 3)``; charges: ``(B, P, 1)``.

    Returns:
        ``pos (B·P, 3)``, ``vel (B·P, 3)``, ``charges (B·P, 1)``, ``edge_index (2, B·P(P-1))``
        (all ordered pairs ``i ≠ j`` within a system), ``batch (B·P,)``.

    """
    b, p, _ = loc.shape
    idx = torch.arange(p, device=loc.device)
    rows, cols = torch.meshgrid(idx, idx, indexing="ij")
    keep = rows != cols
    single = torch.stack([rows[keep], cols[keep]])  # (2, P(P-1))
    offsets = (torch.arange(b, device=loc.device) * p).view(b, 1, 1)
    edge_index = (single.unsqueeze(0) + offsets).transpose(0, 1).reshape(2, -1)
    batch = torch.arange(b, device=loc.device).repeat_interleave(p)
    return (loc.reshape(-1, 3), vel.reshape(-1, 3), charges.reshape(-1, 1), edge_index, batch)


def __getattr__(name: str):
    """``FAGNN`` moved to :mod:`geomlayers.models`; the old name still works, with a warning."""
    if name == "FAGNN":
        import importlib

        warnings.warn("geomlayers.nn.fa_gnn.FAGNN moved: import it from geomlayers.models",
                      DeprecationWarning, stacklevel=2)
        return importlib.import_module("geomlayers.models.fagnn").FAGNN
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
