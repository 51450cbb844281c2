"""Progress bars (tqdm) for long basis generation and training loops.

Bars go to stderr and, by default, appear only when stderr is a terminal (tqdm's
``disable=None``), so logs, CI and notebooks executed by nbclient stay clean. Switches, in
order of precedence:

1. ``GEOMLAYERS_PROGRESS=0`` (also ``false``/``off``/``no``) silences every bar, whatever a
   call asks for;
2. a per-call ``progress=False`` / ``progress=True`` turns the bar off / on (on even when
   stderr is not a terminal);
3. ``GEOMLAYERS_PROGRESS=1`` turns bars on where a call leaves ``progress=None``;
4. otherwise: on for a terminal, off for anything else.

Small jobs (``total`` below ``min_total``) never get a bar.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

#: environment variable holding the global switch.
ENV_VAR = "GEOMLAYERS_PROGRESS"
#: element counts above this get a bar during basis generation.
ELEMENT_THRESHOLD = 10_000

_OFF = {"0", "false", "off", "no"}
_ON = {"1", "true", "on", "yes"}


def progress_disable(progress: bool | None = None) -> bool | None:
    """The ``disable`` argument of tqdm for a call's ``progress`` option (see the module doc).

    Returns:
        ``True`` (no bar), ``False`` (a bar) or ``None`` (a bar only on a terminal).

    """
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be None, True or False, got {progress!r}")
    env = os.environ.get(ENV_VAR, "").strip().lower()
    if env in _OFF or progress is False:
        return True
    if progress is True or env in _ON:
        return False
    return None


def progress_bar(
    iterable: Iterable[T],
    *,
    total: int | None = None,
    desc: str | None = None,
    progress: bool | None = None,
    min_total: int = 0,
    unit: str = "it",
) -> Iterator[T] | Iterable[T]:
    """Wrap ``iterable`` in a tqdm bar on stderr, or return it unchanged.

    Args:
        iterable: what to iterate over.
        total: number of items (defaults to ``len(iterable)`` where defined).
        desc: label shown before the bar.
        progress: the per-call switch (``None``: automatic; see the module doc).
        min_total: no bar when ``total`` is known and below this.
        unit: the item name shown in the rate.

    >>> list(progress_bar(range(3), progress=False))
    [0, 1, 2]

    """
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    disable = progress_disable(progress)
    if disable is True or (total is not None and total < min_total):
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, file=sys.stderr,
                leave=False, dynamic_ncols=True)
