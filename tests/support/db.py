"""Read the database behind a live server directly, to assert on rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text


def engine_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(engine_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def scalar(url: str, sql: str, **params: Any) -> Any:
    rows = query(url, sql, **params)
    return rows[0][0] if rows else None


def counts(
    url: str,
    tables: tuple[str, ...] = (
        "users",
        "sessions",
        "refresh_tokens",
        "api_keys",
        "refresh_families",
    ),
) -> dict[str, int]:
    return {t: int(scalar(url, f"SELECT count(*) FROM {t}")) for t in tables}  # noqa: S608


def execute(url: str, sql: str, **params: Any) -> int:
    """Run a write (tests use it to stand in for the clock); returns the rowcount."""
    engine = create_engine(engine_url(url))
    try:
        with engine.begin() as conn:
            return int(conn.execute(text(sql), params).rowcount)
    finally:
        engine.dispose()
