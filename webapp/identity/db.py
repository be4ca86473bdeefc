"""Database helpers the services share."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Executable
from sqlalchemy.orm import Session as DbSession


def execute_dml(db: DbSession, statement: Executable) -> CursorResult[Any]:
    """Run an UPDATE/DELETE and return a result whose ``rowcount`` can be trusted."""
    return cast(CursorResult[Any], db.execute(statement))
