"""Printing data: JSON for machines, aligned tables for people."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import click


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Columns padded to their widest cell; ``-`` for empty cells."""
    cells = [[str(c) if c not in (None, "") else "-" for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    click.echo("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def print_fields(pairs: Sequence[tuple[str, Any]]) -> None:
    """``label: value`` lines with aligned values."""
    width = max(len(label) for label, _ in pairs) + 1
    for label, value in pairs:
        click.echo(f"{(label + ':').ljust(width)} {value}")


def when(epoch: float | None) -> str:
    """An expiry time for people: ISO 8601 in UTC."""
    if epoch is None:
        return "no expiry"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def rfc3339(epoch: float) -> str:
    """An instant as RFC 3339 in UTC (``2025-01-31T12:00:00Z``), for other tools."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
