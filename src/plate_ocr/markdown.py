"""Markdown tables, the one renderer for every report, summary and benchmark table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def table(header: Sequence[str], rows: Iterable[Sequence]) -> list[str]:
    """Lines of a markdown table; cells are written with ``str``, so format numbers first."""
    return [
        "| " + " | ".join(str(cell) for cell in header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows),
    ]
