"""``geomlayers`` command line.

``geomlayers basis S5 2 2`` prints the basis size, the time taken and the cache location;
the group is any string :func:`geomlayers.groups.parse_group` reads (the short string
``str(group)`` of every family, e.g. ``Aut5<0-1,1-2,2-3,3-4,0-4>``, or ``aut:<graph file>``).
``--save FILE.json`` writes the basis with :meth:`geomlayers.bases.Basis.save` (the
versioned JSON format of docs/bases.md; other extensions are refused before any work).
``geomlayers info`` prints versions, the backend and C++ extension status, the cache and
data locations and the GPU.
"""

from __future__ import annotations

import argparse
import sys
import time

__all__ = ["main"]


def _basis_command(args: argparse.Namespace) -> int:
    from geomlayers.bases import cache, equivariant_basis
    from geomlayers.bases.io import check_basis_path
    from geomlayers.groups import parse_group

    group = parse_group(args.group)
    if args.save:
        check_basis_path(args.save)  # refuse an unknown extension before any work
    start = time.perf_counter()
    basis = equivariant_basis(
        group, args.k, args.l, kind=args.kind, spanning=args.spanning,
        max_elements=args.max_elements, use_cache=not args.no_cache,
    )
    elapsed = time.perf_counter() - start
    what = "basis" if basis.is_basis else "spanning set"
    print(f"group:    {group}")
    print(f"maps:     (R^{group.n})^⊗{args.k} -> (R^{group.n})^⊗{args.l}")
    print(f"size:     {len(basis)} elements ({basis.kind} {what})")
    print(f"time:     {elapsed:.3f} s")
    print(f"cache:    {cache.cache_dir() if not args.no_cache else 'disabled'}")
    if args.show:
        print(basis.describe(limit=args.show))
    if args.save:
        path = basis.save(args.save)
        print(f"saved:    {path}")
    return 0


def _info_command(args: argparse.Namespace) -> int:
    import importlib.metadata as metadata
    import platform

    import torch

    from geomlayers import paths
    from geomlayers.bases import cache
    from geomlayers.ops import extension
    from geomlayers.ops.backend import resolve_backend

    rows = [("python", platform.python_version())]
    for package in ("geomlayers", "torch", "numpy", "scipy", "geoopt", "torch_geometric",
                    "escnn", "pyriemann", "scikit-learn", "mne"):
        try:
            rows.append((package, metadata.version(package)))
        except metadata.PackageNotFoundError:
            rows.append((package, "not installed"))
    error = extension.load_error() if args.build else "not checked (pass --build)"
    rows.append(("extension", "built" if error is None else error))
    rows.append(("extension dir", str(extension.extension_dir())))
    backend = resolve_backend() if args.build else "auto (resolved on first layer)"
    rows.append(("backend", f"{backend} (GEOMLAYERS_BACKEND to change)"))
    rows.append(("cache root", f"{paths.cache_root()} (GEOMLAYERS_CACHE_DIR to change)"))
    rows.append(("basis cache", str(cache.cache_dir())))
    folder = paths.data_dir()
    rows.append(("data", f"{folder} ({'present' if folder.is_dir() else 'absent'})"))
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    rows.append(("gpu", gpu))
    for label, value in rows:
        print(f"{label + ':':<16} {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="geomlayers", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    basis = sub.add_parser("basis", help="generate the basis of G-equivariant maps k -> l")
    basis.add_argument("group", help="a group string read by parse_group: S<n>, A<n>, O<n>, "
                       "SO<n>, Sp<n>, O(p,q,r), Perm<n><(0 1 2),...>, Aut<n><0-1,1-2,...>, or "
                       "aut:<graph file> (edge list, .g6, .gml)")
    basis.add_argument("k", type=int, help="input order")
    basis.add_argument("l", type=int, help="output order")
    basis.add_argument("--kind", choices=["diagram", "orbit"], default="diagram")
    basis.add_argument("--spanning", action="store_true", help="full spanning set")
    basis.add_argument("--max-elements", type=int, default=50_000)
    basis.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    basis.add_argument("--show", type=int, default=0, metavar="N", help="print N elements")
    basis.add_argument("--save", metavar="FILE.json",
                       help="write the basis (Basis.save: versioned JSON, docs/bases.md)")
    basis.set_defaults(run=_basis_command)
    info = sub.add_parser("info", help="versions, backend, extension, cache, data, GPU")
    info.add_argument("--build", action="store_true",
                      help="build / load the C++ extension to report its status")
    info.set_defaults(run=_info_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``geomlayers`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError, NotImplementedError) as err:
        print(f"geomlayers: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
