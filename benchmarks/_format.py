"""The one table-cell formatter of the benchmarks (standard library only).

Used by ``_harness.table`` (which imports torch) and by ``make_results.py`` (which must not,
so that ``make_results.py --check`` runs anywhere), so a cell reads the same in a script's
own markdown and in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

__all__ = ["fmt", "cell"]


def fmt(value, digits: int = 4) -> str:
    """One table cell.

    ``None`` → "—", ``bool`` → yes/no, ints with thousands commas from 10,000, floats to
    ``digits`` significant digits (commas from 10,000), NaN → "NaN", and floats outside
    ``[1e-3, 1e6)`` in scientific notation (``1.500e-05``); strings as they are.

    >>> [fmt(v) for v in (None, True, 12345, 0.5, 12345.6, float("nan"), 1.5e-5, 2e7)]
    ['—', 'yes', '12,345', '0.5', '12,350.0', 'NaN', '1.500e-05', '2.000e+07']
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value == 0 or 1e-3 <= abs(value) < 1e6:
            text = f"{value:.{digits}g}"
            return f"{float(text):,}" if abs(value) >= 10_000 else text
        return f"{value:.{digits - 1}e}"
    return str(value)


def cell(value) -> str:
    """:func:`fmt` with ``|`` escaped, for a markdown table cell."""
    return fmt(value).replace("|", "\\|")
