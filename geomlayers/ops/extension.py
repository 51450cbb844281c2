"""The C++ backend: ``geomlayers::diag_reduce`` / ``geomlayers::diag_embed`` custom ops.

The kernels (``geomlayers/csrc/diagram_ops.cpp``; ``diagram_ops_cuda.cu`` where a CUDA toolkit
and GPU exist) ship inside the package, so a wheel carries them. They are built on first use
with :func:`torch.utils.cpp_extension.load` (ninja) into ``$GEOMLAYERS_EXTENSION_DIR``
(default ``$XDG_CACHE_HOME/geomlayers/extensions``), one folder per torch version and source
hash; the sources are copied into that folder first, so checkouts or installs at different
paths share one build instead of rebuilding each other's.

A built library is verified before it is loaded (``docs/backends.md``): its size and SHA-256
are recorded next to it at build time (``<library>.json``) and compared at load; a library
without that record is first loaded in a child process. A library that fails either check is
rebuilt, or, where building is not allowed (``GEOMLAYERS_EXTENSION_BUILD=0``) or fails, the
torch backend is used with one warning: a truncated or corrupt library never reaches the
process. A verified library is loaded without taking the build lock or writing anything, so a
complete prebuilt extension in a read-only folder loads.

The ops are registered through ``torch.library`` with fake (meta) kernels, so
``torch.compile(fullgraph=True)`` traces them, and with explicit backward formulas: the
backward of ``reduce`` is ``embed`` with the same pattern and vice versa (each is the other's
transpose), which also gives double backward.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from geomlayers import paths
from geomlayers.ops.plan import Embedding, Reduction

__all__ = [
    "add_diagonal", "build_folder", "embed", "extension_dir", "library_path", "load_error",
    "reduce", "sources", "verify_library",
]

_CSRC = Path(__file__).resolve().parents[1] / "csrc"


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
    files = [_CSRC / "diagram_ops.cpp", _CSRC / "fused_two_to_two.cpp"]
    if _with_cuda():
        files.append(_CSRC / "diagram_ops_cuda.cu")
    return files


def build_folder() -> Path:
    """The folder this torch version and these sources build into (named by a source hash)."""
    digest = hashlib.sha256()
    for file in sources():
        digest.update(file.read_bytes())
    return extension_dir() / f"torch-{torch.__version__}-{digest.hexdigest()[:16]}"


def library_path(folder: Path | None = None) -> Path:
    """Path of the shared library built in ``folder`` (default :func:`build_folder`)."""
    folder = build_folder() if folder is None else folder
    tag = folder.name.rsplit("-", 1)[-1]
    return folder / f"geomlayers_ops_{tag}.so"


def _record_path(library: Path) -> Path:
    return library.with_name(library.name + ".json")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_library(library: Path) -> bool:
    """Whether ``library`` matches the size and SHA-256 recorded when it was built."""
    try:
        record = json.loads(_record_path(library).read_text())
        if library.stat().st_size != record["size"]:
            return False
        return _sha256(library) == record["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _write_record(library: Path) -> None:
    """Record size and SHA-256 next to ``library`` (temp file + rename: never half-written)."""
    record = {"size": library.stat().st_size, "sha256": _sha256(library),
              "torch": torch.__version__}
    target = _record_path(library)
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(record))
    os.replace(temporary, target)


def _probe(library: Path, timeout_s: float = 300.0) -> str | None:
    """Load ``library`` in a child process first: ``None`` if it loads, else the reason."""
    code = "import sys, torch; torch.ops.load_library(sys.argv[1])"
    try:
        done = subprocess.run([sys.executable, "-c", code, str(library)], capture_output=True,
                              text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"probe failed: {error}"
    if done.returncode == 0:
        return None
    tail = (done.stderr.strip().splitlines() or [""])[-1][:200]
    return f"loading it killed a test process (exit status {done.returncode}) {tail}".strip()


def _building_allowed() -> bool:
    return os.environ.get("GEOMLAYERS_EXTENSION_BUILD", "1").strip().lower() not in (
        "0", "false", "no", "off")


def _verified_or_probed(library: Path) -> tuple[bool, str | None]:
    """``(usable, reason)`` for an existing library, without building anything."""
    if not library.is_file():
        return False, f"no built library at {library}"
    if verify_library(library):
        return True, None
    if _record_path(library).exists():
        return False, f"{library} does not match its recorded size and SHA-256"
    reason = _probe(library)
    if reason is None:
        with contextlib.suppress(OSError):  # a read-only folder keeps no record: fine
            _write_record(library)
        return True, None
    return False, f"{library}: {reason}"


def _build(folder: Path, files: list[Path]) -> Path:
    """Build under the lock (sources copied into ``folder/src``); return the verified library."""
    from torch.utils import cpp_extension

    library = library_path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with _build_lock(folder):
        usable, _ = _verified_or_probed(library)
        if usable:  # another process built it while we waited
            torch.ops.load_library(str(library))
            return library
        library.unlink(missing_ok=True)  # never let torch load a library that failed checks
        _record_path(library).unlink(missing_ok=True)
        source_dir = folder / "src"
        source_dir.mkdir(exist_ok=True)
        copies = []
        for file in files:
            copy = source_dir / file.name
            if not copy.is_file() or copy.read_bytes() != file.read_bytes():
                shutil.copyfile(file, copy)
            copies.append(copy)
        cpp_extension.load(
            name=library.stem,
            sources=[str(c) for c in copies],
            build_directory=str(folder),
            extra_cflags=["-O3"],
            is_python_module=False,
            verbose=False,
        )
        _write_record(library)
    return library


@functools.cache
def load_error() -> str | None:
    """Build/verify/load the extension once per process; ``None`` on success, else the reason."""
    files = sources()
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        return f"sources not found: {', '.join(missing)} (reinstall geomlayers)"
    folder = build_folder()
    library = library_path(folder)
    try:
        usable, reason = _verified_or_probed(library)
        if usable:
            torch.ops.load_library(str(library))
        elif not _building_allowed():
            return f"{reason}; building is off (GEOMLAYERS_EXTENSION_BUILD=0)"
        else:
            _build(folder, files)
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
    torch.library.register_fake("geomlayers::fused22_forward")(_fake_fused22_forward)
    torch.library.register_fake("geomlayers::fused22_backward")(_fake_fused22_backward)


def _fake_fused22_forward(x, weight, slots, scale, bias, bias_slots):
    batch, channels, n = x.shape[0], x.shape[1], x.shape[-1]
    return (x.new_empty(batch, weight.shape[1], n, n),
            x.new_empty(channels, batch * (n * (n + 1) // 2)),
            x.new_empty(channels, batch * (n * (n - 1) // 2)),
            x.new_empty(batch * n, 5 * channels))


def _fake_fused22_backward(grad, sym, anti, vec, weight, slots, scale, bias_rows, bias_slots,
                           input_grad):
    batch, n = grad.shape[0], grad.shape[-1]
    grad_x = grad.new_empty(batch, sym.shape[0], n, n) if input_grad else grad.new_empty(0)
    grad_bias = grad.new_empty(bias_rows, grad.shape[1]) if bias_rows else grad.new_empty(0)
    return grad_x, weight.new_empty(weight.shape), grad_bias


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
