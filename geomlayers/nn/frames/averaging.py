"""The frame-averaging wrapper (Puny et al., ICLR 2022, eq. 3-4)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from geomlayers.groups.base import Group, as_generator
from geomlayers.groups.permutation import SymmetricGroup
from geomlayers.nn.frames.elements import REPRESENTATIONS, Frame, FrameElements
from geomlayers.nn.frames.factory import make_frame
from geomlayers.nn.frames.layout import BatchLayout, batch_layout
from geomlayers.nn.frames.permutation import PermutationFrame
from geomlayers.validation import check_int

__all__ = ["FrameAveraging"]


class FrameAveraging(nn.Module):
    """Frame-average a backbone: ``(1/|F|) Σ_{g∈F(X)} ρ_out(g) φ(ρ_in(g)^{-1} X)`` (FA eq. 3-4).

    Args:
        backbone: any module / callable; it is called **once** per forward on all
            ``batch · |F|`` canonicalised copies (dense: ``(B·K, N, …)``; PyG: ``(K·total,
            …)`` with ``edge_index`` / ``batch`` replicated and offset).
        frame: the group to average over (``EuclideanGroup(3)``, ``OrthogonalGroup(3)``,
            ``SpecialEuclideanGroup(d)``, ``TranslationGroup(d)``,
            ``SpecialOrthogonalGroup(d)``, ``SymmetricGroup(n)``), its name (read by
            :func:`geomlayers.groups.parse_group`: ``"E3"``, ``"SO3"``; or a size-free name,
            see :func:`make_frame`) or a :class:`Frame`.
        mode: ``"invariant"`` (no ``ρ_out``) or ``"equivariant"``.
        input_types: how each positional input transforms: for PCA frames ``"point"``
            (``R``, ``t``), ``"vector"`` (``R``), ``"scalar"``; for ``"Sn"`` ``"adjacency"``,
            ``"node"``, ``"scalar"``. The frame is built from the first ``"point"`` /
            ``"adjacency"`` input. Default: ``("point",)`` / ``("adjacency",)``. For ``"Sn"``
            on PyG batches (``batch=`` and undirected ``edge_index=``, sorted ``batch``) use
            ``"node"`` / ``"scalar"`` inputs: each copy lists every graph's nodes in one
            canonical order and ``edge_index`` is relabelled to match.
        output_type: equivariant mode: ``"point"`` (``R y + t``), ``"vector"`` (``R y``) for
            PCA frames, ``"node"`` for S_n; default ``"point"`` when translations are in the
            frame, else ``"vector"`` (``"node"`` for S_n). Outputs end in the ``d`` axis.
        stochastic: ``None`` (full frame always) or ``k``: in training mode average over
            ``k`` elements drawn uniformly from each frame (FAENet-style); eval uses the
            full frame.
        pass_mask: also give the backbone ``mask=`` (replicated) in dense mode.
        generator: seed / generator for the stochastic draws.
        **frame_kwargs: options of a named frame (``gap_tol``, ``on_degenerate``, …).

    Forward: ``fa(*inputs, mask=None, batch=None, **kwargs)``; dense inputs ``(B, N, …)``
    (optional ``(B, N)`` bool ``mask``) or flat PyG inputs ``(total, …)`` with ``batch``
    (and usually ``edge_index=``). ``kwargs`` go to the backbone: tensors with leading
    batch axis are replicated per frame element (dense), node/edge/graph tensors are
    replicated per copy (PyG), ``edge_index`` is offset per copy, others pass unchanged.
    Returns: the averaged output, shaped like one backbone output per input (graph-level
    ``(B, …)``; node-level ``(B, N, …)`` or ``(total, …)``).

    >>> mlp = nn.Sequential(nn.Flatten(), nn.Linear(15, 1)).double()
    >>> fa = FrameAveraging(mlp, frame="E3", mode="invariant")
    >>> x = torch.randn(2, 5, 3, dtype=torch.float64)
    >>> q = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64))[0]
    >>> bool(torch.allclose(fa(x @ q.T + 1.0), fa(x), atol=1e-10))
    True

    """

    def __init__(self, backbone, frame: Group | str | Frame = "E3", mode: str = "invariant", *,
                 input_types: Sequence[str] | None = None, output_type: str | None = None,
                 stochastic: int | None = None, pass_mask: bool = False,
                 generator: torch.Generator | int | None = None, **frame_kwargs) -> None:
        super().__init__()
        if not callable(backbone):
            raise TypeError(f"backbone must be callable (a module), got {type(backbone)}")
        if mode not in ("invariant", "equivariant"):
            raise ValueError(f"mode must be 'invariant' or 'equivariant', got {mode!r}")
        self.backbone = backbone
        self.frame = make_frame(frame, **frame_kwargs)
        self.mode = mode
        #: the group averaged over (``None`` for size-free frames such as ``"En"``, ``"Sn"``)
        self.group = self._group()
        graph = isinstance(self.frame, PermutationFrame)
        default_in = ("adjacency",) if graph else ("point",)
        self.input_types = tuple(input_types) if input_types is not None else default_in
        for t in self.input_types:
            if t not in self.frame.input_types:
                raise ValueError(f"input_types entries must be in {self.frame.input_types} for "
                                 f"{type(self.frame).__name__}, got {t!r}")
        anchor = "adjacency" if graph else "point"
        if anchor not in self.input_types and not graph:
            raise ValueError(f"input_types must contain a {anchor!r} input to build the frame, "
                             f"got {self.input_types}")
        # S_n on PyG batches: the graph comes from ``edge_index``, no adjacency input needed
        self._anchor = self.input_types.index(anchor) if anchor in self.input_types else None
        self.output_type = self._output_type(output_type, graph)
        reps = tuple(REPRESENTATIONS[t] for t in self.input_types)
        #: the representations of the inputs (one value, or a tuple for several inputs) and
        #: of the output; ``None`` where a type has no representation value (``"node"``)
        self.rep_in = None if None in reps else reps[0] if len(reps) == 1 else reps
        self.rep_out = REPRESENTATIONS[self.output_type]
        if stochastic is not None:
            stochastic = check_int("stochastic", stochastic, minimum=1)
        self.stochastic = stochastic
        self.pass_mask = pass_mask
        self.generator = as_generator(generator)

    def _group(self) -> Group | None:
        frame = self.frame
        if isinstance(frame, PermutationFrame):
            return None if frame.n is None else SymmetricGroup(frame.n)
        return None if frame.d is None else frame.group(frame.d)

    def _output_type(self, output_type, graph) -> str:
        if self.mode == "invariant":
            if output_type not in (None, "scalar"):
                raise ValueError("output_type must be None or 'scalar' in invariant mode, got "
                                 f"{output_type!r}")
            return "scalar"
        if output_type is None:
            if graph:
                return "node"
            return "point" if self.frame.translation else "vector"
        if output_type not in self.frame.output_types or output_type == "scalar":
            raise ValueError(f"output_type must be one of {self.frame.output_types[:-1]} in "
                             f"equivariant mode, got {output_type!r}")
        return output_type

    def extra_repr(self) -> str:
        """``group, mode, input_types, output_type, stochastic``."""
        return (f"group={self.group}, mode={self.mode!r}, input_types={self.input_types}, "
                f"output_type={self.output_type!r}, stochastic={self.stochastic}")

    def frame_elements(self, *inputs: torch.Tensor, mask=None, batch=None,
                       num_graphs: int | None = None) -> FrameElements:
        """The (full) frames of a batch."""
        self._check_inputs(inputs)
        if isinstance(self.frame, PermutationFrame):
            if batch is not None:
                raise ValueError("frame_elements of PyG batches under 'Sn' are computed inside "
                                 "forward (they need edge_index); call forward")
            if self._anchor is None:
                raise ValueError("dense graphs need an 'adjacency' input for the 'Sn' frame; "
                                 "PyG batches need batch= and edge_index=")
            feats = [x for x, t in zip(inputs, self.input_types, strict=True) if t == "node"]
            feats = torch.cat([f.reshape(*f.shape[:2], -1) for f in feats], -1) if feats \
                else None
            return self.frame(inputs[self._anchor], feats, mask)
        return self.frame(inputs[self._anchor], mask=mask, batch=batch, num_graphs=num_graphs)

    def _check_inputs(self, inputs):
        if len(inputs) != len(self.input_types):
            raise ValueError(f"expected {len(self.input_types)} positional inputs of types "
                             f"{self.input_types}, got {len(inputs)}")
        for i, x in enumerate(inputs):
            if not isinstance(x, torch.Tensor):
                raise TypeError(f"input {i} must be a tensor, got {type(x).__name__}")

    def forward(self, *inputs: torch.Tensor, mask: torch.Tensor | None = None,
                batch: torch.Tensor | None = None, num_graphs: int | None = None,
                **kwargs):
        """Average the backbone over the frames; see the class docstring."""
        if isinstance(self.frame, PermutationFrame) and batch is not None:
            return self._forward_sn_flat(inputs, batch, num_graphs, kwargs)
        elements = self.frame_elements(*inputs, mask=mask, batch=batch, num_graphs=num_graphs)
        if self.training and self.stochastic is not None:
            elements = self._sample(elements)
        anchor = inputs[self._anchor]
        layout = batch_layout(anchor, mask, batch, elements.weights.shape[0] if batch is not None
                         else None, base_dims=1)
        k = elements.size
        canon = [self.frame.canonicalize(elements, x, t, layout)
                 for x, t in zip(inputs, self.input_types, strict=True)]
        call_kwargs = self._fold_kwargs(kwargs, k, layout, anchor)
        if self.pass_mask and layout.mask is not None:
            call_kwargs["mask"] = self._canonical_mask(elements, layout)
        out = self.backbone(*canon, **call_kwargs)
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"the backbone must return one tensor, got {type(out).__name__}")
        node_level = self._node_level(out, k, layout)
        return self.frame.restore(elements, out, self.output_type, layout, node_level)

    def _forward_sn_flat(self, inputs, batch, num_graphs, kwargs):
        """S_n frame averaging of a PyG batch: nodes are relabelled within each graph.

        Needs ``edge_index`` (undirected) and a sorted ``batch``; inputs are ``"node"``
        ``(total, F)`` or ``"scalar"``. Copy ``k`` of graph ``g`` lists its nodes in the
        canonical order of frame element ``k``; ``edge_index`` is relabelled to match.
        """
        self._check_inputs(inputs)
        if "adjacency" in self.input_types:
            raise ValueError("with batch= the graph comes from edge_index: use input_types of "
                             "'node' / 'scalar' only")
        edge_index = kwargs.pop("edge_index", None)
        if edge_index is None:
            raise ValueError("the 'Sn' frame of a PyG batch needs edge_index=")
        if batch.dim() != 1 or batch.dtype != torch.long or \
                bool((batch[1:] < batch[:-1]).any()):
            raise ValueError("batch must be a sorted long vector (PyG's contiguous graphs)")
        total = batch.shape[0]
        graphs = int(batch.max()) + 1 if num_graphs is None else num_graphs
        counts = torch.bincount(batch, minlength=graphs)
        starts = torch.cumsum(counts, 0) - counts
        position = torch.arange(total, device=batch.device) - starts[batch]
        width = int(counts.max())
        adjacency = torch.zeros(graphs, width, width, dtype=torch.float64)
        src, dst = edge_index.cpu()
        adjacency[batch[src].cpu(), position[src].cpu(), position[dst].cpu()] = 1.0
        mask = torch.zeros(graphs, width, dtype=torch.bool)
        mask[batch.cpu(), position.cpu()] = True
        feats = [x.reshape(total, -1) for x, t in zip(inputs, self.input_types, strict=True)
                 if t == "node"]
        dense_feats = None
        if feats:
            flat = torch.cat(feats, -1).detach().to(torch.float64).cpu()
            dense_feats = flat.new_zeros(graphs, width, flat.shape[-1])
            dense_feats[batch.cpu(), position.cpu()] = flat
        elements = self.frame(adjacency, dense_feats, mask)
        if self.training and self.stochastic is not None:
            elements = self._sample(elements)
        k = elements.size
        perm = elements.permutation.to(batch.device)  # (G, K, width)
        order = (starts[batch].unsqueeze(1) + perm[batch, :, position]).T  # (K, total)
        relabel = torch.argsort(order, dim=1)  # original node -> canonical slot, per copy
        offsets = torch.arange(k, device=batch.device).view(k, 1) * total
        canon = [x[order].reshape(k * total, *x.shape[1:]) if t == "node"
                 else x.repeat(k, *[1] * (x.dim() - 1))
                 for x, t in zip(inputs, self.input_types, strict=True)]
        call_kwargs = {name: value.repeat(k, *[1] * (value.dim() - 1))
                       if isinstance(value, torch.Tensor) else value
                       for name, value in kwargs.items()}
        call_kwargs["edge_index"] = (relabel[:, edge_index] + offsets.view(k, 1, 1)) \
            .transpose(0, 1).reshape(2, -1)
        call_kwargs["batch"] = (batch.unsqueeze(0) + offsets // total * graphs).reshape(-1)
        out = self.backbone(*canon, **call_kwargs)
        weights = elements.weights.to(device=out.device)
        if out.shape[0] == k * total:  # node level: back to input order, then average
            y = out.reshape(k, total, *out.shape[1:])
            if self.output_type == "node":
                index = order.reshape(k, total, *[1] * (y.dim() - 2)).expand_as(y)
                y = torch.zeros_like(y).scatter_(1, index, y)
            w = weights[batch].T.to(y.dtype)
            return (w.reshape(k, total, *[1] * (y.dim() - 2)) * y).sum(0)
        if out.shape[0] == k * graphs:  # graph level
            y = out.reshape(k, graphs, *out.shape[1:])
            w = weights.T.to(y.dtype)
            return (w.reshape(k, graphs, *[1] * (y.dim() - 2)) * y).sum(0)
        raise ValueError(f"the backbone output must be node-level ({k * total}, …) or "
                         f"graph-level ({k * graphs}, …), got {tuple(out.shape)}")

    def _canonical_mask(self, elements: FrameElements, layout: BatchLayout) -> torch.Tensor:
        """The mask of the canonicalised copies ``(B*K, N)`` (permuted for S_n frames)."""
        mask = layout.mask.repeat_interleave(elements.size, 0)
        if elements.permutation is None:
            return mask
        perm = elements.permutation.reshape(mask.shape).to(mask.device)
        return torch.gather(mask, 1, perm)

    def _sample(self, elements: FrameElements) -> FrameElements:
        count = min(self.stochastic, elements.size)
        probs = (elements.weights > 0).to(torch.float64).cpu()
        support = int(probs.sum(1).min())
        index = torch.multinomial(probs, min(count, support), replacement=False,
                                  generator=self.generator)
        return elements.subset(index.to(elements.weights.device))

    def _fold_kwargs(self, kwargs, k, layout, anchor) -> dict:
        out = {}
        for name, value in kwargs.items():
            if not isinstance(value, torch.Tensor):
                out[name] = value
            elif layout.dense:
                leading = value.dim() > 0 and value.shape[0] == layout.num_graphs
                out[name] = value.repeat_interleave(k, 0) if leading else value
            elif name == "edge_index":
                offsets = torch.arange(k, device=value.device) * layout.num_nodes
                out[name] = (value.unsqueeze(0) + offsets.view(k, 1, 1)).transpose(0, 1) \
                    .reshape(2, -1)
            else:
                out[name] = value.repeat(k, *[1] * (value.dim() - 1))
        if not layout.dense:
            offsets = torch.arange(k, device=anchor.device) * layout.num_graphs
            out["batch"] = (layout.batch.unsqueeze(0) + offsets.view(k, 1)).reshape(-1)
        return out

    @staticmethod
    def _node_level(out, k, layout) -> bool:
        if layout.dense:
            if out.shape[0] != layout.num_graphs * k:
                raise ValueError(f"the backbone output must have leading axis batch·|F| = "
                                 f"{layout.num_graphs * k}, got {tuple(out.shape)}")
            return True
        if out.shape[0] == k * layout.num_nodes:
            return True
        if out.shape[0] == k * layout.num_graphs:
            return False
        raise ValueError(f"the backbone output must be node-level ({k * layout.num_nodes}, …) "
                         f"or graph-level ({k * layout.num_graphs}, …), got {tuple(out.shape)}")
