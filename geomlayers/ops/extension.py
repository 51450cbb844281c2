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

import contextlib
import functools
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from geomlayers import paths
from geomlayers.ops.layer import Embedding, Reduction

__all__ = [
    "add_diagonal", "build_folder", "embed", "extension_dir", "load_error", "reduce", "sources",
]

_CSRC = Path(__file__).resolve().parents[2] / "csrc"


def extension_dir() -> Path:
    """Folder of the built extensions (one sub-folder per torch version and source hash).

    ``$GEOMLAYERS_EXTENSION_DIR``, else ``~/.cache/geomlayers/extensions``; see
    :func:`geomlayers.paths.extension_dir`.
    """
    return paths.extension_dir()


def _with_cuda() -> bool:
    from torch.utils.cpp_extension import CUDA_HOME

    return torch.cuda.is_available() and CUDA_HOME is not None


def sources() -> list[Path]:
    """The C++ (and, where CUDA builds, CUDA) source files of the extension."""
    files = [_CSRC / "diagram_ops.cpp"]
    if _with_cuda():
        files.append(_CSRC / "diagram_ops_cuda.cu")
    return files


def build_folder() -> Path:
    """The folder this torch version and these sources build into (named by a source hash)."""
    digest = hashlib.sha256()
    for file in sources():
        digest.update(file.read_bytes())
    return extension_dir() / f"torch-{torch.__version__}-{digest.hexdigest()[:16]}"


@functools.cache
def load_error() -> str | None:
    """Build/load the extension once per process; ``None`` on success, else the reason."""
    files = sources()
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        return f"sources not found: {', '.join(missing)} (run from a source checkout)"
    folder = build_folder()
    tag = folder.name.rsplit("-", 1)[-1]
    try:
        from torch.utils import cpp_extension

        folder.mkdir(parents=True, exist_ok=True)
        with _build_lock(folder):
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


@contextlib.contextmanager
def _build_lock(folder: Path, timeout_s: float = 900.0) -> Iterator[None]:
    """Hold an OS lock on ``folder`` while torch builds or loads the extension there.

    torch marks a build in progress with a plain ``lock`` file and waits, without a time
    limit, for it to disappear; a process killed in that window leaves the file behind and
    every later process hangs. We serialise builders with ``flock``, which the kernel releases
    when its holder dies, so while we hold it any ``lock`` file is a stale leftover and is
    deleted. Where ``flock`` is missing (Windows) a ``lock`` file older than ``timeout_s`` is
    taken as stale instead.

    Raises:
        TimeoutError: another live process held the lock for more than ``timeout_s``.

    """
    torch_lock = folder / "lock"
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        _remove_if_older(torch_lock, timeout_s)
        yield
        return
    with open(folder / "build.flock", "w") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"another process has been building the extension in {folder} for "
                        f"over {timeout_s:.0f} s"
                    ) from None
                time.sleep(0.2)
        try:
            torch_lock.unlink(missing_ok=True)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_if_older(path: Path, max_age_s: float) -> None:
    try:
        if time.time() - path.stat().st_mtime > max_age_s:
            path.unlink()
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
