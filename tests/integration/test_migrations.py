"""Migrations run both ways on SQLite and PostgreSQL, and agree with the models."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from tests.conftest import TEST_SECRET
from tests.support.db import engine_url, query
from tests.support.live import REPO_ROOT
from webapp.identity import rbac
from webapp.identity.clients import BUILTIN_CLIENTS, OIDC_SCOPES
from webapp.models import Base


def limen_server(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "LIMEN_ENV": "development",
        "LIMEN_DATABASE_URL": database_url,
        "LIMEN_SECRET_KEY": TEST_SECRET,
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        [sys.executable, "-m", "webapp.cli", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_downgrade_upgrade_and_models_agree(make_database, backend):
    url = make_database(backend)
    assert limen_server(url, "db", "upgrade").returncode == 0
    assert sorted(r[0] for r in query(url, "SELECT name FROM roles")) == ["admin", "analyst"]

    engine = create_engine(engine_url(url))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"

    down = limen_server(url, "db", "downgrade", "base")
    assert down.returncode == 0, down.stderr
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert limen_server(url, "db", "upgrade").returncode == 0
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_migrated_database_holds_the_roles_and_permissions_rbac_defines(make_database, backend):
    """Migrations keep their literal lists (frozen history); this keeps them equal to rbac.py:
    a role or permission added there needs a migration that seeds it."""
    url = make_database(backend)
    assert limen_server(url, "db", "upgrade").returncode == 0
    assert {name for (name,) in query(url, "SELECT name FROM roles")} == set(rbac.PERSON_ROLES)
    rows = query(url, "SELECT client_id, scopes FROM oauth_clients")
    scopes = {cid: set(json.loads(s) if isinstance(s, str) else s) for cid, s in rows}
    assert set(scopes) == set(BUILTIN_CLIENTS)
    for client_id in BUILTIN_CLIENTS:  # the first-party clients may ask for every permission
        assert scopes[client_id] == OIDC_SCOPES | set(rbac.PERMISSIONS), client_id
