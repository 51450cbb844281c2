"""Representations as values: how a group element acts on a tensor.

A representation is a small immutable, hashable, printable and parseable value (in the
spirit of e3nn's ``Irreps``, Geiger & Smidt, arXiv 2207.09453, §2) that says what a tensor
*is* for a group, so that ``rep.act(g, x)`` moves it and a layer can declare
``group``, ``rep_in`` and ``rep_out`` (see ``docs/architecture.md``).

* ``Trivial()``, string ``trivial``: ``x`` unchanged (invariants); ``x`` ends in ``()``.
* ``TensorPower(k)``, ``T2``: ``g^{⊗k}`` on the last ``k`` axes ``(n, …, n)``.
* ``Vectors()``, ``vectors``: ``A v`` (``A`` the linear part of ``g``); ``(d,)``.
* ``Points()``, ``points``: ``A p + t`` (``t`` the translation of an affine or Euclidean
  ``g``); ``(d,)``.
* ``Congruence()``, ``congruence``: ``A X Aᵀ`` (SPD and symmetric matrices); ``(d, d)``.
* ``Subspaces()``, ``subspaces``: ``span(U) ↦ span(A U)`` for orthonormal bases ``U``
  ``(d, p)`` (Grassmann points); ``Subspaces("projector")``, ``projectors``: the projector
  ``P`` ``(d, d)`` onto ``A·range(P)``.
* ``Multivectors()``, ``multivectors``: the outermorphism ``Ω(A)`` on ``Cl(p, q, r)``
  coefficients ``(2^d,)``.

Any representation takes ``channels=c`` (string prefix ``"cx"``, e.g. ``4xT2``): then ``x``
has an extra axis of size ``c`` just before the acted-on axes (only the shape of random test
inputs depends on it; the action is the same on every channel).

``g`` is ``(n, n)`` (one element for all of ``x``) or ``(m, n, n)`` (one element per leading
entry, ``x.shape[0] == m``). For groups in homogeneous coordinates (E(d), SE(d), Rⁿ⋊G:
``n = d + 1``) the linear part ``A`` and translation ``t`` are read from
``g = [[A, t], [0, 1]]`` whenever ``x`` lives in ``R^d``; for linear groups ``A = g``.

>>> rep = parse_representation("4xT2")
>>> rep, str(rep)
(TensorPower(order=2, channels=4), '4xT2')
>>> parse_representation(str(Congruence())) == Congruence()
True
"""

from __future__ import annotations

import abc
import math
import re
from dataclasses import dataclass, field, fields, replace

import torch

from geomlayers.groups.actions import (
    _check_batch,
    _check_g,
    _left,
    _parts,
    join_homogeneous,
    split_homogeneous,
    tensor_power_act,
)
from geomlayers.groups.exterior import outermorphism
from geomlayers.validation import check_choice, check_int

__all__ = [
    "Representation",
    "Trivial",
    "TensorPower",
    "Vectors",
    "Points",
    "Congruence",
    "Subspaces",
    "Multivectors",
    "parse_representation",
    "parse_representations",
    "as_representation",
    "tensor_power_act",
    "split_homogeneous",
    "join_homogeneous",
]


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, repr=False)
class Representation(abc.ABC):
    """How a group element acts on a tensor; see the module docstring.

    Subclasses are frozen dataclasses: hashable, comparable, ``repr`` evaluates back to an
    equal value and ``str`` is the short form read by :func:`parse_representation`.
    """

    channels: int | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if self.channels is not None:
            object.__setattr__(self, "channels", check_int("channels", self.channels, minimum=1))

    #: short name in the string form (set by subclasses)
    name = ""

    @abc.abstractmethod
    def act(self, g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``g·x`` for ``g`` ``(n, n)`` or ``(m, n, n)``; the result has the shape of ``x``."""

    @abc.abstractmethod
    def shape(self, n: int, space_dim: int) -> tuple[int, ...]:
        """Trailing shape of a tensor of this representation (channels excluded).

        ``n`` is the size of the group's matrices, ``space_dim`` the dimension of the space
        it moves (``n - 1`` for groups in homogeneous coordinates, else ``n``).
        """

    @classmethod
    def parse(cls, spec: str) -> Representation:
        """:func:`parse_representation` (``Representation.parse("4xT2")``)."""
        rep = parse_representation(spec)
        if not isinstance(rep, cls):
            raise ValueError(f"{spec!r} is a {type(rep).__name__}, not a {cls.__name__}")
        return rep

    def __rmul__(self, channels: int) -> Representation:
        """``4 * TensorPower(2)`` is ``TensorPower(2, channels=4)`` (e3nn's ``4x``).

        >>> str(3 * Points())
        '3xpoints'
        """
        if self.channels is not None:
            raise ValueError(f"{self} already has {self.channels} channels")
        return replace(self, channels=check_int("channels", channels, minimum=1))

    def dim(self, n: int, space_dim: int | None = None) -> int:
        """Number of entries of one tensor (channels included): ``prod(full_shape)``.

        >>> TensorPower(2, channels=3).dim(4)
        48
        """
        return math.prod(self.full_shape(n, n if space_dim is None else space_dim))

    def full_shape(self, n: int, space_dim: int) -> tuple[int, ...]:
        """:meth:`shape` with the channel axis in front when ``channels`` is set."""
        shape = self.shape(n, space_dim)
        return shape if self.channels is None else (self.channels, *shape)

    def random(
        self,
        n: int,
        space_dim: int,
        batch_shape: tuple[int, ...] = (3,),
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float64,
    ) -> torch.Tensor:
        """A random valid input ``(*batch_shape, [channels,] *shape)`` (Gaussian by default)."""
        shape = (*batch_shape, *self.full_shape(n, space_dim))
        return torch.randn(shape, generator=generator, dtype=torch.float64).to(dtype)

    def space_dim_of(self, x: torch.Tensor) -> int | None:
        """The dimension ``d`` of the space ``x`` lives over (``None``: not read from ``x``)."""
        return None

    def comparable(self, x: torch.Tensor) -> torch.Tensor:
        """What equivariance tests compare (the tensor itself; a projector for subspaces)."""
        return x

    def __str__(self) -> str:
        prefix = "" if self.channels is None else f"{self.channels}x"
        return prefix + self._body()

    def __repr__(self) -> str:
        parts = [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)
                 if f.name != "channels"]
        if self.channels is not None:
            parts.append(f"channels={self.channels!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def _body(self) -> str:
        return self.name


@dataclass(frozen=True, repr=False)
class Trivial(Representation):
    """Invariants: ``g·x = x``. String ``trivial``.

    >>> Trivial().act(torch.eye(3), torch.ones(2)).tolist()
    [1.0, 1.0]
    """

    name = "trivial"

    def act(self, g, x):
        """``x`` unchanged."""
        _check_g(g)
        return x

    def shape(self, n, space_dim):
        """``()``."""
        return ()


@dataclass(frozen=True, repr=False)
class TensorPower(Representation):
    """``g^{⊗k}`` on order-``k`` tensors ``(..., n, …, n)`` (Maron et al., ICLR 2019, §2).

    String ``T<k>`` (``4xT2`` with 4 channels). ``TensorPower(0)`` acts trivially.

    >>> str(TensorPower(2)), TensorPower(1).act(torch.eye(2).flip(0), torch.tensor([1., 2.]))
    ('T2', tensor([2., 1.]))
    """

    order: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "order", check_int("order", self.order, minimum=0))

    def act(self, g, x):
        """``g^{⊗k}`` on the last ``k`` axes (:func:`tensor_power_act`)."""
        return tensor_power_act(g, x, self.order)

    def shape(self, n, space_dim):
        """``(n,) * k``."""
        return (n,) * self.order

    def _body(self) -> str:
        return f"T{self.order}"


@dataclass(frozen=True, repr=False)
class Vectors(Representation):
    """Translation-free vectors (velocities, normals): ``v ↦ A v``. String ``vectors``."""

    name = "vectors"

    def act(self, g, x):
        """``A v`` on the last axis ``(d,)``."""
        a, _ = _parts(g, x.shape[-1], x, "vectors")
        _check_batch(g, x, 1)
        return _left(a, x, 1)

    def shape(self, n, space_dim):
        """``(d,)``."""
        return (space_dim,)

    def space_dim_of(self, x):
        """``x.shape[-1]``."""
        return x.shape[-1] if x.dim() else None


@dataclass(frozen=True, repr=False)
class Points(Representation):
    """Positions: ``p ↦ A p + t`` (``t = 0`` for linear groups). String ``points``."""

    name = "points"

    def act(self, g, x):
        """``A p + t`` on the last axis ``(d,)``."""
        a, t = _parts(g, x.shape[-1], x, "points")
        _check_batch(g, x, 1)
        out = _left(a, x, 1)
        if t is not None:
            if t.dim() == 2:
                t = t.reshape(t.shape[0], *([1] * (x.dim() - 2)), t.shape[-1])
            out = out + t
        return out

    def shape(self, n, space_dim):
        """``(d,)``."""
        return (space_dim,)

    def space_dim_of(self, x):
        """``x.shape[-1]``."""
        return x.shape[-1] if x.dim() else None


@dataclass(frozen=True, repr=False)
class Congruence(Representation):
    """Matrices under congruence ``X ↦ A X Aᵀ`` (SPD and symmetric matrices, covariances).

    GL(n) acts on SPD(n) this way (Huang & Van Gool, AAAI 2017, §3; Pennec et al., IJCV
    2006); on ``(..., d, d)``. String ``congruence``. Random test inputs are SPD.
    """

    name = "congruence"

    def act(self, g, x):
        """``A X Aᵀ`` on the last two axes."""
        if x.dim() < 2 or x.shape[-1] != x.shape[-2]:
            raise ValueError(f"x must be (..., d, d) matrices, got {tuple(x.shape)}")
        a, _ = _parts(g, x.shape[-1], x, "matrices")
        _check_batch(g, x, 2)
        ax = _left(a, x, 2)
        return _left(a, ax.transpose(-1, -2), 2).transpose(-1, -2)

    def shape(self, n, space_dim):
        """``(d, d)``."""
        return (space_dim, space_dim)

    def space_dim_of(self, x):
        """``x.shape[-2]``."""
        return x.shape[-2] if x.dim() >= 2 else None

    def random(self, n, space_dim, batch_shape=(3,), generator=None, dtype=torch.float64):
        """Random SPD matrices ``B Bᵀ / d + I/2`` (well conditioned)."""
        shape = (*batch_shape, *self.full_shape(n, space_dim))
        b = torch.randn(shape, generator=generator, dtype=torch.float64)
        eye = torch.eye(space_dim, dtype=torch.float64)
        return (b @ b.transpose(-1, -2) / space_dim + eye / 2).to(dtype)


_SUBSPACE_FORMS = ("basis", "projector")


@dataclass(frozen=True, repr=False)
class Subspaces(Representation):
    """Points of a Grassmannian ``Gr(p, d)``: ``span(U) ↦ span(A U)``.

    ``form="basis"`` (string ``subspaces``): ``x`` is an orthonormal basis ``U`` ``(..., d, p)``
    and ``act`` returns an orthonormal basis of ``A·span(U)``: the ``Q`` of ``A U = QR`` with
    ``diag(R) > 0``, which is ``A U`` itself for orthogonal ``A``; equivariance tests compare the
    projectors ``U Uᵀ``, since a layer may return any basis of the same subspace (Huang et
    al., AAAI 2018, §3). ``form="projector"`` (string ``projectors``): ``x`` is the
    projector ``P`` ``(..., d, d)`` and ``act`` returns the projector onto ``A·range(P)``
    (``A P Aᵀ`` for orthogonal ``A``). ``p`` fixes the subspace dimension of random test
    inputs (default ``max(1, d // 2)``).
    """

    form: str = "basis"
    p: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("form", self.form, _SUBSPACE_FORMS)
        if self.p is not None:
            object.__setattr__(self, "p", check_int("p", self.p, minimum=1))

    def act(self, g, x):
        """Move the subspace(s); see the class docstring."""
        if x.dim() < 2:
            raise ValueError(f"x must be (..., d, p) bases or (..., d, d) projectors, got "
                             f"{tuple(x.shape)}")
        a, _ = _parts(g, x.shape[-2], x, "subspaces")
        _check_batch(g, x, 2)
        moved = _left(a, x, 2)
        if self.form == "basis":
            q, r = torch.linalg.qr(moved)
            signs = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
            signs = torch.where(signs == 0, torch.ones_like(signs), signs)
            return q * signs.unsqueeze(-2)
        return moved @ torch.linalg.pinv(moved)

    def space_dim_of(self, x):
        """``x.shape[-2]``."""
        return x.shape[-2] if x.dim() >= 2 else None

    def shape(self, n, space_dim):
        """``(d, p)`` or ``(d, d)``."""
        p = self.p if self.p is not None else max(1, space_dim // 2)
        return (space_dim, p) if self.form == "basis" else (space_dim, space_dim)

    def random(self, n, space_dim, batch_shape=(3,), generator=None, dtype=torch.float64):
        """Random orthonormal bases (QR of a Gaussian), or their projectors."""
        p = self.p if self.p is not None else max(1, space_dim // 2)
        channels = () if self.channels is None else (self.channels,)
        gauss = torch.randn((*batch_shape, *channels, space_dim, p), generator=generator,
                            dtype=torch.float64)
        q, _ = torch.linalg.qr(gauss)
        out = q if self.form == "basis" else q @ q.transpose(-1, -2)
        return out.to(dtype)

    def comparable(self, x):
        """The projector ``Q Qᵀ`` onto the span (``Q``: orthonormalised ``x``) for bases."""
        if self.form == "projector":
            return x
        q, _ = torch.linalg.qr(x)
        return q @ q.transpose(-1, -2)

    def _body(self) -> str:
        body = "subspaces" if self.form == "basis" else "projectors"
        return body if self.p is None else f"{body}({self.p})"


@dataclass(frozen=True, repr=False)
class Multivectors(Representation):
    """Multivectors of ``Cl(p, q, r)`` under the outermorphism ``Ω(A) = ⊕_k Λ^k A``.

    Coefficients ``(..., 2^d)`` in short-lex blade order; for ``A`` in ``O(p, q, r)`` this
    is the action CGENN layers are equivariant to (Ruhe et al., NeurIPS 2023, §3).
    String ``multivectors``.
    """

    name = "multivectors"

    def act(self, g, x):
        """``Ω(A) x`` on the last axis."""
        d = int(round(math.log2(x.shape[-1]))) if x.shape[-1] > 0 else -1
        if d < 0 or 1 << d != x.shape[-1]:
            raise ValueError(f"multivectors must end in an axis of size 2^d, got "
                             f"{tuple(x.shape)}")
        a, _ = _parts(g, d, x, "multivectors")
        _check_batch(g, x, 1)
        return _left(outermorphism(a), x, 1)

    def shape(self, n, space_dim):
        """``(2^d,)``."""
        return (1 << space_dim,)

    def space_dim_of(self, x):
        """``log2(x.shape[-1])``."""
        size = x.shape[-1] if x.dim() else 0
        return size.bit_length() - 1 if size > 0 and size & (size - 1) == 0 else None


# --------------------------------------------------------------------------- parsing

_WORDS = {
    "trivial": lambda: Trivial(),
    "vectors": lambda: Vectors(),
    "points": lambda: Points(),
    "congruence": lambda: Congruence(),
    "multivectors": lambda: Multivectors(),
}
_PATTERN = re.compile(
    r"(?:(?P<channels>\d+)\s*x\s*)?"
    r"(?:T(?P<order>\d+)|(?P<word>[a-z]+)(?:\((?P<arg>\d+(?:\s*,\s*\d+)*)\))?)"
)
#: words of representations defined in other modules of this package (``groups/images.py``):
#: word -> ``factory(args: tuple[int, ...], channels)``; filled by :func:`_register_word`
_REGISTERED: dict = {}


def _register_word(word: str, factory) -> None:
    """Let :func:`parse_representation` read ``word`` and ``word(a, b)``.

    Used by ``geomlayers.groups.images``, which imports this module (so this module cannot
    import it).
    """
    _REGISTERED[word] = factory


def parse_representation(spec: str | Representation) -> Representation:
    """Read the short string of a representation (``str(rep)``) back to an equal value.

    ``T<k>``, ``trivial``, ``vectors``, ``points``, ``congruence``, ``subspaces``,
    ``subspaces(<p>)``, ``projectors``, ``multivectors``, and the image types of
    ``geomlayers.groups.images`` (``images``, ``images(<size>)``, ``lifted(<orbit>)``,
    ``lifted(<orbit>,<size>)``), each optionally prefixed by ``<c>x`` for ``c`` channels.
    A :class:`Representation` is returned unchanged.

    >>> parse_representation("3xsubspaces(2)")
    Subspaces(form='basis', p=2, channels=3)
    """
    if isinstance(spec, Representation):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"representation must be a str or a Representation, got "
                        f"{type(spec).__name__}")
    match = _PATTERN.fullmatch(spec.strip())
    word = match.group("word") if match else None
    known = (word is None or word in _WORDS or word in _REGISTERED
             or word in ("subspaces", "projectors"))
    arg = match.group("arg") if match else None
    takes_arg = word in _REGISTERED or (word in ("subspaces", "projectors")
                                        and "," not in (arg or ""))
    if not match or not known or (arg and not takes_arg):
        raise ValueError(
            f"unknown representation {spec!r}: use T<k>, trivial, vectors, points, "
            "congruence, subspaces, projectors, multivectors, "
            f"{', '.join(f'{w}(...)' for w in sorted(_REGISTERED))}, optionally prefixed "
            "by <channels>x (e.g. '4xT2')"
        )
    channels = int(match.group("channels")) if match.group("channels") else None
    if word in _REGISTERED:
        args = tuple(int(a) for a in arg.split(",")) if arg else ()
        return _REGISTERED[word](args, channels)
    if match.group("order") is not None:
        return TensorPower(int(match.group("order")), channels=channels)
    if word in ("subspaces", "projectors"):
        p = int(match.group("arg")) if match.group("arg") else None
        form = "basis" if word == "subspaces" else "projector"
        return Subspaces(form, p, channels=channels)
    rep = _WORDS[word]()
    return rep if channels is None else type(rep)(channels=channels)


def parse_representations(spec) -> tuple[Representation, ...]:
    """Several representations: a comma-separated string, or a sequence of specs.

    >>> parse_representations("T2, points")
    (TensorPower(order=2), Points())
    """
    if isinstance(spec, str):
        return tuple(parse_representation(part) for part in spec.split(","))
    if isinstance(spec, Representation):
        return (spec,)
    return tuple(as_representation(part) for part in spec)


def as_representation(spec: Representation | str | int) -> Representation:
    """A :class:`Representation` from a value, its string, or an int ``k`` (``TensorPower(k)``)."""
    if isinstance(spec, Representation):
        return spec
    if isinstance(spec, str):
        return parse_representation(spec)
    return TensorPower(check_int("order", spec, minimum=0))
