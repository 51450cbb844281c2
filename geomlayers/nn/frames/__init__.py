"""Frame averaging: make any backbone invariant or equivariant.

Puny, Atzmon, Smith, Misra, Grover, Ben-Hamu, Lipman, "Frame Averaging for Invariant and
Equivariant Network Design", ICLR 2022 (arXiv 2110.03336). A *frame* ``F(X)`` is a small
input-dependent set of group elements with ``F(g·X) = g·F(X)``; averaging a backbone ``φ``
over it::

    invariant:    ⟨φ⟩(X) = 1/|F(X)| Σ_{g ∈ F(X)} φ(ρ_in(g)^{-1} X)                  (eq. 3)
    equivariant:  ⟨φ⟩(X) = 1/|F(X)| Σ_{g ∈ F(X)} ρ_out(g) φ(ρ_in(g)^{-1} X)         (eq. 4)

is exactly invariant / equivariant for *any* ``φ`` (Thm. 1). Here the frame is folded into
the batch: ``φ`` is called once on ``batch · |F|`` canonicalised copies.

:class:`FrameAveraging` is built from a group (``EuclideanGroup(3)``, ``OrthogonalGroup(d)``,
``SpecialEuclideanGroup(d)``, ``SpecialOrthogonalGroup(d)``, ``TranslationGroup(d)``,
``SymmetricGroup(n)``) or its name (``"E3"``, read by :func:`geomlayers.groups.parse_group`).
Frame elements are matrices of that group, and ``ρ_in``, ``ρ_out`` are the group's own action
(:meth:`geomlayers.groups.Group.act` with ``Points``, ``Vectors``, ``Trivial``); the wrapper
declares ``group``, ``rep_in`` and ``rep_out`` for :func:`geomlayers.testing.assert_equivariant`.
See ``docs/frames.md``.

Frames (§3.1 of the paper; the degeneracy handling and scaling are ours):

* :class:`PCAFrame` — E(d), O(d), SO(d), SE(d) and translations on point clouds: centroid
  ``t`` and the eigenvectors ``U`` of the covariance ``C = Σ (x - t)(x - t)ᵀ`` (descending
  eigenvalues), with every sign choice ``R = U diag(s)``: ``2^d`` elements for O(d)/E(d)
  (8 for d = 3), ``2^(d-1)`` with ``det R = +1`` for SO(d)/SE(d) (4 for d = 3). The SO(d)
  frame is *not* equivariant under reflections. Each cloud is rescaled by a power of two
  before its statistics are formed (exact, and the eigenvectors do not depend on the scale),
  so coordinates near ``1e±200`` get the frame of the same cloud at unit scale.
* **Degenerate spectra.** Where two eigenvalues of ``C`` are within a relative gap
  ``gap_tol`` (``(λ_i - λ_{i+1}) / λ_max``), ``U`` is not determined by ``C`` and the finite
  frame is no longer equivariant (see ``docs/frames.md``). With
  ``on_degenerate="resolve"`` (default) the basis of each such eigenspace is re-chosen from a
  second equivariant matrix, the fourth moment ``M = Σ ‖x - t‖² (x - t)(x - t)ᵀ`` restricted
  to the eigenspace; ``M`` transforms like ``C`` so the frame stays exactly equivariant. If
  ``M`` is degenerate there too (e.g. highly symmetric clouds: a cube, a regular simplex), a
  :class:`DegenerateFrameWarning` names the batch entries and their relative gap: the output
  is then not guaranteed equivariant. ``"warn"`` skips the resolution, ``"raise"`` raises a
  ``ValueError``, ``"ignore"`` does nothing.
* :class:`PermutationFrame` — S_n on graphs (§3.1, "S_n frames"): nodes are sorted by
  permutation-equivariant keys (mask, degree, the diagonal of each Laplacian eigenprojector,
  optionally node features), rounded to ``decimals``; the frame is *every* ordering that sorts
  them, i.e. all orderings within tie blocks, up to ``max_elements``; beyond that cap a
  uniform random subset of tie-breaks is used and a :class:`FrameWarning` says the average is
  exact only in distribution.

Frames return :class:`FrameElements`: the group (``EuclideanGroup(3)``, ``OrthogonalGroup(3)``,
``SymmetricGroup(n)``, …) and the elements per input, with ``matrices()`` giving them as
matrices of that group's defining representation. Frames are computed without gradient
(as in the paper's code).

Stochastic frame averaging (Duval et al., FAENet, ICML 2023; FA §3.2): with
``stochastic=k``, training passes use ``k`` elements drawn uniformly without replacement from
each frame; evaluation always uses the full frame.
"""

from __future__ import annotations

from geomlayers.nn.frames.averaging import FrameAveraging
from geomlayers.nn.frames.elements import DegenerateFrameWarning, Frame, FrameElements, FrameWarning
from geomlayers.nn.frames.factory import make_frame
from geomlayers.nn.frames.layout import (  # noqa: F401  (_Layout, _layout: older names)
    BatchLayout,
    _Layout,
    _layout,
    batch_layout,
)
from geomlayers.nn.frames.pca import PCAFrame
from geomlayers.nn.frames.permutation import PermutationFrame

__all__ = [
    "BatchLayout",
    "batch_layout",
    "DegenerateFrameWarning",
    "FrameWarning",
    "FrameElements",
    "Frame",
    "PCAFrame",
    "PermutationFrame",
    "FrameAveraging",
    "make_frame",
]
