"""Kernel operators ``W ↦ U (K ∘ UᵀWU) Uᵀ`` of a matrix's eigenvalues, and the Lyapunov solve."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.autograd.function import once_differentiable

from geomlayers.linalg.checks import _check_matrix, _skip_checks, config, sym

# --------------------------------------------------------------------------------------------
# kernel operators W ↦ U (K ∘ UᵀWU) Uᵀ, K_ij = k(σ_i, σ_j), σ, U from eigh(P)
# --------------------------------------------------------------------------------------------


class Kernel:
    """A symmetric kernel ``k(x, y) = k(y, x)`` of two eigenvalues and its ``∂k/∂x``."""

    def _num(self, name: str) -> float:
        """The float field ``name`` as a constant that ``torch.compile`` does not lift.

        Under ``torch.compile(dynamic=True)`` Dynamo turns a float attribute read inside an
        ``autograd.Function`` into a symbolic input and caches it by source; a second
        ``Function`` reading the same kernel's attribute then reuses a value that belongs to the
        first one's subgraph and Dynamo fails (``lift_tracked_freevar_to_input should not be
        called on root SubgraphTracer``).  The exact ``repr`` of each float is kept as a string
        field, and ``float`` of a constant string folds to a constant while tracing.
        """
        return float(self._reprs[name])

    def _keep_reprs(self, *names: str) -> None:
        object.__setattr__(self, "_reprs", {n: repr(float(getattr(self, n))) for n in names})

    def k(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Kernel values (broadcast)."""
        raise NotImplementedError

    def d1(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Partial derivative in the first argument (broadcast)."""
        raise NotImplementedError


@dataclass(frozen=True)
class SumPowerKernel(Kernel):
    """``k(x, y) = coef · (x + y)^power`` (Lyapunov solve: ``coef=1, power=-1``).

    >>> SumPowerKernel(1.0, -1.0).k(torch.tensor(1.0), torch.tensor(3.0))
    tensor(0.2500)
    """

    coef: float
    power: float

    def __post_init__(self):
        self._keep_reprs("coef", "power")

    def k(self, x, y):
        """``coef (x+y)^power``."""
        return self._num("coef") * (x + y).pow(self._num("power"))

    def d1(self, x, y):
        """``coef · power · (x+y)^(power-1)``."""
        coef, power = self._num("coef"), self._num("power")
        return coef * power * (x + y).pow(power - 1)


@dataclass(frozen=True)
class LoewnerKernel(Kernel):
    """Divided difference ``(f(x) − f(y))/(x − y)`` of ``f = log | exp | pow(theta)``.

    With ``inverse=True`` its reciprocal.  The kernel of the Fréchet derivative ``Df_P``.

    >>> LoewnerKernel("log").k(torch.tensor(2.0), torch.tensor(2.0))
    tensor(0.5000)
    """

    kind: str
    theta: float = 1.0
    inverse: bool = False

    def __post_init__(self):
        self._keep_reprs("theta")

    def _derivs(self, x):
        t = self._num("theta")
        if self.kind == "log":
            return x.log(), 1 / x, -1 / x**2
        if self.kind == "exp":
            e = x.exp()
            return e, e, e
        if self.kind == "pow":
            return x.pow(t), t * x.pow(t - 1), t * (t - 1) * x.pow(t - 2)
        raise ValueError(f"kind must be 'log', 'exp' or 'pow', got {self.kind!r}")

    def _plain(self, x, y):
        x, y = torch.broadcast_tensors(x, y)
        gap = x - y
        tie = config.tie(x.dtype) * torch.maximum(x.abs(), y.abs())
        tied = gap.abs() <= tie + torch.finfo(x.dtype).tiny
        safe = torch.where(tied, torch.ones_like(gap), gap)
        fx, dfx, _ = self._derivs(x)
        fy, _, _ = self._derivs(y)
        _, dmid, d2mid = self._derivs(0.5 * (x + y))
        k = torch.where(tied, dmid, (fx - fy) / safe)
        # ∂k/∂x = (f'(x) − k) / (x − y); on ties f''(mid)/2 (use a wider tie: second difference)
        tied2 = gap.abs() <= config.tie(x.dtype) ** 0.5 * torch.maximum(x.abs(), y.abs())
        safe2 = torch.where(tied2, torch.ones_like(gap), gap)
        k_for_d1 = torch.where(tied2, dmid, (fx - fy) / safe2)
        d1 = torch.where(tied2, 0.5 * d2mid, (dfx - k_for_d1) / safe2)
        return k, d1

    def k(self, x, y):
        """Divided difference (or its reciprocal)."""
        k, _ = self._plain(x, y)
        return 1 / k if self.inverse else k

    def d1(self, x, y):
        """Partial derivative in ``x``."""
        k, d1 = self._plain(x, y)
        return -d1 / k**2 if self.inverse else d1


class _KernelOp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, p, w, kernel, positive, name):
        sigma, u = torch.linalg.eigh(p)
        if positive and not _skip_checks() and sigma.numel():
            low = sigma[..., 0] / sigma.abs().amax(-1).clamp_min(torch.finfo(sigma.dtype).tiny)
            if bool((low <= config.floor(sigma.dtype) * sigma.shape[-1]).any()):
                worst = float(low.min())
                why = ("it has a negative eigenvalue" if worst < -config.psd_tol(sigma.dtype)
                       else "singular to working precision, so the solution is not unique")
                raise ValueError(f"{name} must be positive definite: smallest eigenvalue "
                                 f"relative to the largest is {worst:.2e} ({why})")
        kmat = kernel.k(sigma.unsqueeze(-1), sigma.unsqueeze(-2))
        wh = u.transpose(-1, -2) @ w @ u
        ctx.kernel = kernel
        # no shapes on ctx (symbolic under torch.compile): P's batch shape is sigma's, and
        # autograd reduces a broadcast gradient of w to w's shape itself
        ctx.save_for_backward(sigma, u, kmat, wh)
        return sym(u @ (kmat * wh) @ u.transpose(-1, -2))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        sigma, u, kmat, wh = ctx.saved_tensors
        gh = u.transpose(-1, -2) @ sym(grad) @ u
        gw = gp = None
        if ctx.needs_input_grad[1]:
            gw = u @ (kmat * gh) @ u.transpose(-1, -2)
        if ctx.needs_input_grad[0]:
            d1 = _kernel_divided_difference(sigma, kmat, ctx.kernel)
            gh, wh = torch.broadcast_tensors(gh, wh)
            n = sigma.shape[-1]
            if sigma.dim() == 1:  # one shared P: contract the batch first (n³ memory)
                s = torch.einsum("bij,bkj->ikj", gh.reshape(-1, n, n), wh.reshape(-1, n, n))
            else:
                s = torch.einsum("...ij,...kj->...ikj", gh, wh)
                s = s.sum_to_size(*sigma.shape[:-1], n, n, n)
            a1 = (s * d1).sum(-1)
            gp = u @ (a1 + a1.transpose(-1, -2)) @ u.transpose(-1, -2)
        return gp, gw, None, None, None


def _kernel_divided_difference(sigma, kmat, kernel):
    """``D[i,k,j] = (K(σ_k, σ_j) − K(σ_i, σ_j)) / (σ_k − σ_i)``, ``∂₁K(mid, σ_j)`` on ties."""
    si = sigma.unsqueeze(-1).unsqueeze(-1)  # [..., i, 1, 1]
    sk = sigma.unsqueeze(-2).unsqueeze(-1)  # [..., 1, k, 1]
    sj = sigma.unsqueeze(-2).unsqueeze(-2)  # [..., 1, 1, j]
    gap = sk - si
    tied = gap.abs() <= config.tie(sigma.dtype) * torch.maximum(si.abs(), sk.abs())
    safe = torch.where(tied, torch.ones_like(gap), gap)
    diff = (kmat.unsqueeze(-3) - kmat.unsqueeze(-2)) / safe  # K[k,j] − K[i,j]
    return torch.where(tied, kernel.d1(0.5 * (si + sk), sj), diff)


def eig_kernel_apply(p: torch.Tensor, w: torch.Tensor, kernel: Kernel, *,
                     name: str = "p", positive: bool = False) -> torch.Tensor:
    """``U (K ∘ (Uᵀ W U)) Uᵀ`` with ``P = U diag(σ) Uᵀ`` and ``K_ij = kernel.k(σ_i, σ_j)``.

    Differentiable in ``p`` and ``w`` with a backward that stays finite for repeated
    eigenvalues of ``p`` (the map is smooth in ``p`` even where ``U`` is not).

    Args:
        p: symmetric ``(..., n, n)``; broadcast against ``w``.
        w: symmetric ``(..., n, n)``.
        kernel: a :class:`Kernel`.
        name: argument name for error messages.
        positive: refuse a ``p`` that is not positive definite to working precision (smallest
            eigenvalue at most ``config.floor · n`` times the largest).

    """
    p = _check_matrix(p, name)
    w = _check_matrix(w, "w")
    return _KernelOp.apply(p, w, kernel, positive, name)


_LYAPUNOV = SumPowerKernel(1.0, -1.0)


def lyapunov(p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The symmetric solution ``L`` of ``P L + L P = V`` for SPD ``p``, ``(..., n, n)``.

    Refuses a ``p`` that is singular to working precision (the solution is then not unique).

    >>> p = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=torch.float64)
    >>> v = torch.tensor([[1.0, 0.0], [0.0, 3.0]], dtype=torch.float64)
    >>> l = lyapunov(p, v)
    >>> torch.allclose(p @ l + l @ p, v)
    True
    """
    return eig_kernel_apply(p, v, _LYAPUNOV, name="p", positive=True)
