"""Representations of images on a pixel grid and of their lifts to a sample grid on Rⁿ ⋊ G.

The affine-group layers of ``geomlayers.nn.lie`` (Mironenco & Forré, "Lie Group
Decompositions for Equivariant Neural Networks", ICLR 2024, §5) map images to functions on
``Rⁿ ⋊ G`` sampled at a grid ``{h_b}``. Two representation values describe these tensors:

* ``Images()``, string ``images`` (``images(<size>)`` fixes the side of random test
  inputs): scalar fields on the last ``d`` axes, a periodic pixel grid with index
  coordinates centred at ``c = (S - 1)/2``; a homogeneous ``g = [[A, t], [0, 1]]`` acts by
  ``(g·f)(y) = f(A⁻¹(y - c - t) + c)``, coordinates taken modulo the grid (a torus).
* ``LiftedImages(orbit)``, string ``lifted(<orbit>)`` (``lifted(<orbit>,<size>)``):
  ``(..., N, *spatial)`` features on the samples ``h_b = r_k·s_i`` of
  ``GLPlus.sample_grid(m, orbit=orbit)`` (``b = i·orbit + k``, ``r_k`` the rotations of
  ``rotation_subgroup(d, orbit)``); ``(g·F)(y, A·h) = F(g⁻¹·y, h)``: the image action on
  space and the permutation ``r_k ↦ A r_k`` of the samples.

Both actions are *exact*: they move pixels and samples, never interpolate. They are therefore
defined only for the elements that map the grids to themselves: ``A`` an integer matrix of
determinant ±1 mapping the centred lattice to itself (for ``LiftedImages`` also a rotation of
the orbit group: a multiple of ``2π/orbit`` for d = 2, a cube rotation for d = 3) and ``t``
an integer vector; any other element raises ``ValueError``. Continuous transforms of an
image need interpolation and a denser sample grid, so their equivariance is approximate and
is measured by hand-written tests, not through these values (``docs/lie.md``).

>>> from geomlayers.groups.representations import parse_representation
>>> parse_representation("3xlifted(8)") == LiftedImages(8, channels=3)
True
>>> quarter = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # rot90
>>> f = torch.arange(4.0).reshape(2, 2)
>>> torch.equal(Images().act(quarter, f), torch.rot90(f, 1))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from geomlayers.groups.actions import _check_g, _parts
from geomlayers.groups.affine import rotation_subgroup
from geomlayers.groups.representations import Representation, _register_word
from geomlayers.validation import check_int

__all__ = ["Images", "LiftedImages"]

_DEFAULT_SIZE = 8
_ATOL = 1e-6  # how far from an integer a pixel coordinate may land and still be a lattice map


def _source_index(a: torch.Tensor, t: torch.Tensor | None, sizes: tuple[int, ...]):
    """Flat source pixel of every output pixel under ``y ↦ A⁻¹(y - c - t) + c`` (mod S)."""
    d = len(sizes)
    if d != a.shape[-1]:
        raise ValueError(f"an element acting on R^{a.shape[-1]} cannot move {d} spatial axes")
    if d > 1 and len(set(sizes)) > 1 and not torch.equal(
            a.abs(), torch.eye(d, dtype=a.dtype, device=a.device)):
        raise ValueError(f"only translations (and axis sign flips) map a non-square grid "
                         f"{sizes} to itself; got the linear part {a.tolist()}")
    a64 = a.detach().to(torch.float64)
    inv = torch.linalg.inv(a64)
    if (inv - inv.round()).abs().max() > _ATOL or abs(abs(float(torch.linalg.det(a64))) - 1) \
            > _ATOL:
        raise ValueError(
            f"the linear part {a64.tolist()} is not an integer matrix of determinant ±1: it "
            "does not map the pixel lattice to itself, so moving an image by it needs "
            "interpolation (not an exact action; see docs/lie.md)")
    centre = torch.tensor([(s - 1) / 2 for s in sizes], dtype=torch.float64)
    shift = torch.zeros(d, dtype=torch.float64) if t is None else t.detach().to(torch.float64)
    axes = torch.meshgrid(*(torch.arange(s, dtype=torch.float64) for s in sizes),
                          indexing="ij")
    ys = torch.stack(axes, -1).reshape(-1, d)
    src = (ys - centre - shift) @ inv.T + centre
    rounded = src.round()
    if (src - rounded).abs().max() > _ATOL:
        raise ValueError(
            f"the element (A={a64.tolist()}, t={shift.tolist()}) does not map the pixel grid "
            f"{sizes} to itself (t must be integral, and A must map the lattice centred at "
            "(S-1)/2 to itself); moving the image would need interpolation")
    idx = rounded.long() % torch.tensor(sizes)
    flat = torch.zeros(len(idx), dtype=torch.long)
    for axis, size in enumerate(sizes):
        flat = flat * size + idx[:, axis]
    return flat


def _move_space(g: torch.Tensor, x: torch.Tensor, d: int, skip: int = 0) -> torch.Tensor:
    """The image action of one ``g`` on the last ``d`` axes of ``x``."""
    if x.dim() < d + skip:
        raise ValueError(f"x must end in {d} spatial axes, got shape {tuple(x.shape)}")
    a, t = _parts(g, d, x, "images")
    sizes = tuple(x.shape[x.dim() - d:])
    flat = _source_index(a, t, sizes).to(x.device)
    out = x.reshape(*x.shape[: x.dim() - d], -1).index_select(-1, flat)
    return out.reshape(x.shape)


def _per_element(g: torch.Tensor, x: torch.Tensor, one) -> torch.Tensor:
    _check_g(g)
    if g.dim() == 2:
        return one(g, x)
    if x.dim() == 0 or x.shape[0] != g.shape[0]:
        raise ValueError(f"{g.shape[0]} group elements need x with that leading axis, got "
                         f"{tuple(x.shape)}")
    return torch.stack([one(gb, xb) for gb, xb in zip(g, x, strict=True)])


def _linear_size(g: torch.Tensor) -> int:
    """``d`` of a homogeneous ``g = [[A, t], [0, 1]]`` ``(d+1, d+1)``; anything else is refused.

    Images take homogeneous elements only: a 2×2 matrix ``[[1, k], [0, 1]]`` is read as the
    1-D translation by ``k``, never as a shear of the plane (``Group.act`` refuses images for
    linear groups, so the two cannot be confused there).
    """
    n = g.shape[-1]
    last = g.reshape(-1, n, n)[:, -1]
    target = torch.zeros(n, dtype=g.dtype, device=g.device)
    target[-1] = 1
    if n < 2 or not bool((last == target).all()):
        raise ValueError(
            "images are moved by homogeneous elements [[A, t], [0, 1]] of R^d ⋊ G (use "
            "Affine(G), TranslationGroup(d) or EuclideanGroup(d)), got g whose last row is "
            f"{last[0].tolist()}")
    return n - 1


@dataclass(frozen=True, repr=False)
class Images(Representation):
    """Scalar fields on a periodic pixel grid (the last ``d`` axes): ``(g·f)(y) = f(g⁻¹y)``.

    ``g = [[A, t], [0, 1]]`` (homogeneous, an element of ``Rᵈ ⋊ G``, ``T(d)`` or ``E(d)``)
    acts on index coordinates centred at ``(S - 1)/2``, periodically; exact for integer ``A`` of
    determinant ±1 that maps the centred lattice to itself (e.g. ``torch.rot90``: ``A =
    [[0, -1], [1, 0]]``) and integer ``t`` (``torch.roll`` by ``t``), refused otherwise (see
    the module docstring). ``size`` is the side of random test inputs (default 8).
    String ``images`` / ``images(<size>)``.
    """

    size: int | None = None
    name = "images"
    #: read by ``Group.act``: linear groups (whose 2×2 shear would read as a 1-D
    #: translation) are refused
    homogeneous_only = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.size is not None:
            object.__setattr__(self, "size", check_int("size", self.size, minimum=1))

    def act(self, g, x):
        """Move the pixels of ``x`` (no interpolation); see the class docstring."""
        _check_g(g)
        d = _linear_size(g)
        return _per_element(g, x, lambda gb, xb: _move_space(gb, xb, d))

    def shape(self, n, space_dim):
        """``(size,) * d``."""
        return (self.size or _DEFAULT_SIZE,) * space_dim

    def _body(self) -> str:
        return "images" if self.size is None else f"images({self.size})"


@dataclass(frozen=True, repr=False)
class LiftedImages(Representation):
    """Features on ``Rⁿ ⋊ G`` at the samples of an orbit grid: ``(..., N, *spatial)``.

    ``(g·F)(y, A·h_b) = F(g⁻¹·y, h_b)`` for the grid ``h_b = r_k·s_i`` of
    ``GLPlus.sample_grid(m, orbit=orbit)`` (``b = i·orbit + k``): the pixels move as for
    :class:`Images` and sample ``i·orbit + k`` goes to ``i·orbit + k'`` with
    ``r_{k'} = A·r_k``. Exact for ``A`` in the orbit's rotation group (``A`` must also be a
    lattice map: d = 2 needs ``orbit`` divisible by 4 for anything beyond translations);
    other ``A`` are refused. ``orbit=None`` (any grid): only translations act, since a
    rotation's permutation of the samples depends on the grid. ``size``: side of random test
    inputs. String ``lifted`` / ``lifted(<orbit>)`` / ``lifted(<orbit>,<size>)``.
    """

    orbit: int | None = None
    size: int | None = None
    name = "lifted"
    homogeneous_only = True

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("orbit", "size"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, check_int(name, value, minimum=1))
        if self.size is not None and self.orbit is None:
            raise ValueError("LiftedImages(size=...) needs the orbit too (string lifted(o,s))")

    def act(self, g, x):
        """Move the pixels and permute the samples; see the class docstring."""
        _check_g(g)
        d = _linear_size(g)
        return _per_element(g, x, lambda gb, xb: self._one(gb, xb, d))

    def _one(self, g, x, d):
        if x.dim() < d + 1:
            raise ValueError(f"x must be (..., N, {d} spatial axes), got {tuple(x.shape)}")
        moved = _move_space(g, x, d, skip=1)
        a, _ = _parts(g, d, x, "lifted images")
        perm = self._sample_permutation(a.detach().to(torch.float64), x.shape[-d - 1])
        if perm is None:
            return moved
        # out[..., perm[b], :] = moved[..., b, :]
        return moved.index_select(-d - 1, torch.argsort(perm).to(x.device))

    def _sample_permutation(self, a: torch.Tensor, num: int) -> torch.Tensor | None:
        eye = torch.eye(a.shape[-1], dtype=a.dtype)
        if (a - eye).abs().max() <= _ATOL:
            return None
        if self.orbit is None:
            raise ValueError(
                "LiftedImages() (any grid) is moved only by translations: a rotation permutes "
                "the samples in a way that depends on the grid; give its orbit, e.g. "
                "LiftedImages(orbit=8) for GLPlus.sample_grid(m, orbit=8)")
        if num % self.orbit:
            raise ValueError(f"the sample axis has {num} entries, not a multiple of the "
                             f"orbit {self.orbit}")
        rots = rotation_subgroup(a.shape[-1], self.orbit)
        image = torch.einsum("ij,kjl->kil", a, rots)  # A r_k
        dist = (image.unsqueeze(1) - rots.unsqueeze(0)).abs().amax((-1, -2))  # (k, k')
        best = dist.argmin(1)
        if (dist.gather(1, best[:, None]) > _ATOL).any():
            raise ValueError(
                f"the linear part {a.tolist()} is not a rotation of the orbit group of "
                f"order {self.orbit}: it does not permute the sample grid (its action on "
                "the grid would need new samples; see docs/lie.md)")
        seeds = torch.arange(num // self.orbit).unsqueeze(1) * self.orbit
        return (seeds + best.unsqueeze(0)).reshape(-1)

    def shape(self, n, space_dim):
        """``(orbit, *(size,) * d)``: one seed of the grid."""
        return (self.orbit or 1, *(self.size or _DEFAULT_SIZE,) * space_dim)

    def _body(self) -> str:
        if self.orbit is None:
            return "lifted"
        return f"lifted({self.orbit})" if self.size is None else \
            f"lifted({self.orbit},{self.size})"


def _images(args, channels):
    if len(args) > 1:
        raise ValueError(f"images takes at most one argument (the size), got {args}")
    return Images(*args, channels=channels)


def _lifted(args, channels):
    if len(args) > 2:
        raise ValueError(f"lifted takes at most two arguments (orbit, size), got {args}")
    return LiftedImages(*args, channels=channels)


_register_word("images", _images)
_register_word("lifted", _lifted)

