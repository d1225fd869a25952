"""Plain-text tables for the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from .policies import VersionStatement


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> str:
    """Columns padded to their widest cell; `(none)` under the headers when there are no rows."""
    shown = [list(headers), *(list(row) for row in rows)] if rows else [list(headers), ["(none)"]]
    widths = [max(len(row[column]) for row in shown if column < len(row)) for column in range(len(headers))]
    return "\n".join(
        indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
        for row in shown
    )


GRANT_HEADERS = ("layer version", "region", "StatementId", "principal", "organization")


def grant_cells(grant: VersionStatement) -> list[str]:
    layer_version, statement = grant.layer_version, grant.statement
    return [
        f"{layer_version.name}:{layer_version.version}",
        layer_version.region,
        statement.statement_id,
        statement.principal + (" (public)" if grant.public else ""),
        statement.organization_id or "-",
    ]
