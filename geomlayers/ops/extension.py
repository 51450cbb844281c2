"""The C++ backend: ``geomlayers::diag_reduce`` / ``geomlayers::diag_embed`` custom ops.

The kernels (``csrc/diagram_ops.cpp``; ``csrc/diagram_ops_cuda.cu`` where a CUDA toolkit and
GPU exist) are built on first use with :func:`torch.utils.cpp_extension.load` (ninja) into
``$GEOMLAYERS_EXTENSION_DIR`` (default ``$XDG_CACHE_HOME/geomlayers/extensions``), one folder
per torch version and source hash, so a rebuild happens only when either changes. The
package itself installs as pure Python. The ops are registered through ``torch.library`` with
fake (meta) kernels, so ``torch.compile(fullgraph=True)`` traces them, and with explicit
backward formulas: the backward of ``reduce`` is ``embed`` with the same pattern and vice
versa (each is the other's transpose), which also gives double backward.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import torch

from geomlayers.ops.layer import Embedding, Reduction

__all__ = ["add_diagonal", "embed", "extension_dir", "load_error", "reduce", "sources"]

_CSRC = Path(__file__).resolve().parents[2] / "csrc"


def extension_dir() -> Path:
    """Folder of the built extensions (one sub-folder per torch version and source hash)."""
    override = os.environ.get("GEOMLAYERS_EXTENSION_DIR")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "geomlayers" / "extensions"


def _with_cuda() -> bool:
    from torch.utils.cpp_extension import CUDA_HOME

    return torch.cuda.is_available() and CUDA_HOME is not None


def sources() -> list[Path]:
    """The C++ (and, where CUDA builds, CUDA) source files of the extension."""
    files = [_CSRC / "diagram_ops.cpp"]
    if _with_cuda():
        files.append(_CSRC / "diagram_ops_cuda.cu")
    return files


@functools.cache
def load_error() -> str | None:
    """Build/load the extension once per process; ``None`` on success, else the reason."""
    files = sources()
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        return f"sources not found: {', '.join(missing)} (run from a source checkout)"
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.read_bytes())
    tag = digest.hexdigest()[:16]
    folder = extension_dir() / f"torch-{torch.__version__}-{tag}"
    try:
        from torch.utils import cpp_extension

        folder.mkdir(parents=True, exist_ok=True)
        _remove_stale_lock(folder)
        cpp_extension.load(
            name=f"geomlayers_ops_{tag}",
            sources=[str(f) for f in files],
            build_directory=str(folder),
            extra_cflags=["-O3"],
            is_python_module=False,
            verbose=False,
        )
    except Exception as error:  # any build or load failure means: use the torch backend
        return f"{type(error).__name__}: {str(error).strip().splitlines()[0][:300]}"
    _register_python_side()
    return None


def _remove_stale_lock(folder: Path, max_age_s: float = 600.0) -> None:
    """Delete a build lock left by a killed build (torch would wait on it forever).

    A build takes well under a minute here, so a lock older than ``max_age_s`` is stale.
    """
    import time

    lock = folder / "lock"
    try:
        if time.time() - lock.stat().st_mtime > max_age_s:
            lock.unlink()
    except FileNotFoundError:
        pass


def _register_python_side() -> None:
    torch.library.register_fake("geomlayers::diag_reduce")(_fake_reduce)
    torch.library.register_fake("geomlayers::diag_embed")(_fake_embed)
    torch.library.register_autograd(
        "geomlayers::diag_reduce", _backward_reduce, setup_context=_save_pattern
    )
    torch.library.register_autograd(
        "geomlayers::diag_embed", _backward_embed, setup_context=_save_pattern
    )
    torch.library.register_fake("geomlayers::diag_embed_add")(_fake_embed_add)
    torch.library.register_autograd(
        "geomlayers::diag_embed_add", _backward_embed_add, setup_context=_save_add_pattern
    )


def _fake_reduce(x, labels, keep, n):
    return x.new_empty(x.shape[0], n ** sum(keep))


def _fake_embed(y, labels, keep, n):
    return y.new_empty(y.shape[0], n ** len(labels))


def _fake_embed_add(out, y, labels, keep, n):
    return torch.empty_like(out, memory_format=torch.contiguous_format)


def _save_add_pattern(ctx, inputs, output) -> None:
    _, _, ctx.labels, ctx.keep, ctx.n = inputs


def _backward_embed_add(ctx, grad):
    grad_y = torch.ops.geomlayers.diag_reduce(grad, ctx.labels, ctx.keep, ctx.n)
    return grad, grad_y, None, None, None


def _save_pattern(ctx, inputs, output) -> None:
    _, ctx.labels, ctx.keep, ctx.n = inputs


def _backward_reduce(ctx, grad):
    return torch.ops.geomlayers.diag_embed(grad, ctx.labels, ctx.keep, ctx.n), None, None, None


def _backward_embed(ctx, grad):
    return torch.ops.geomlayers.diag_reduce(grad, ctx.labels, ctx.keep, ctx.n), None, None, None


def reduce(x: torch.Tensor, reduction: Reduction, n: int) -> torch.Tensor:
    """C++ :func:`geomlayers.ops.diagonal_reduce`: ``(*batch, n^(k))`` → ``(*batch, n^(p))``."""
    if reduction.is_identity:
        return x
    k = len(reduction.labels)
    lead = x.shape[: x.dim() - k]
    flat = x.reshape(-1, n**k)
    y = torch.ops.geomlayers.diag_reduce(flat, list(reduction.labels), list(reduction.keep), n)
    return y.reshape(*lead, *([n] * sum(reduction.keep)))


def embed(y: torch.Tensor, embedding: Embedding, n: int) -> torch.Tensor:
    """C++ :func:`geomlayers.ops.diagonal_embed`: ``(*batch, n^(p))`` → ``(*batch, n^(l))``."""
    if embedding.is_identity:
        return y
    p = sum(embedding.keep)
    lead = y.shape[: y.dim() - p]
    flat = y.reshape(-1, n**p)
    out = torch.ops.geomlayers.diag_embed(flat, list(embedding.labels), list(embedding.keep), n)
    return out.reshape(*lead, *([n] * len(embedding.labels)))


def add_diagonal(out: torch.Tensor, y: torch.Tensor, embedding: Embedding, n: int) -> torch.Tensor:
    """``out + embed(y)`` for ``out`` ``(*batch, n^(l))`` and ``y`` ``(*batch, n^(p))``."""
    l, p = len(embedding.labels), sum(embedding.keep)
    lead = out.shape[: out.dim() - l]
    result = torch.ops.geomlayers.diag_embed_add(
        out.reshape(-1, n**l), y.reshape(-1, n**p), list(embedding.labels),
        list(embedding.keep), n,
    )
    return result.reshape(*lead, *([n] * l))
