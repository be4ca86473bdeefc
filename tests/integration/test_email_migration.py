"""Revision 0005 gives every account its normalised address and reports look-alike accounts
that already exist instead of failing (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.integration.test_migrations import limen_server
from tests.support.db import execute, query

ACCOUNTS = [  # (id, email, created): the full-width one registered later, before 0005
    ("u-1", "rt-analyst@example.com", "2030-01-01T00:00:00+00:00"),
    ("u-2", "\uff52\uff54-analyst@example.com", "2030-01-02T00:00:00+00:00"),
    ("u-3", "ana@b\u00fccher.example", "2030-01-03T00:00:00+00:00"),
]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_look_alikes_are_reported_and_the_oldest_keeps_the_address(make_database, backend):
    url = make_database(backend)
    assert limen_server(url, "db", "upgrade", "0004").returncode == 0
    for user_id, email, created in ACCOUNTS:
        execute(
            url,
            "INSERT INTO users (id, email, display_name, is_active, failed_login_count, "
            "created_at, updated_at) VALUES (:id, :email, '', true, 0, :at, :at)",
            id=user_id,
            email=email,
            at=created,
        )

    upgraded = limen_server(url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "u-2" in upgraded.stderr and "looks like account u-1" in upgraded.stderr
    keys = dict(query(url, "SELECT id, email_normalized FROM users"))
    assert keys == {
        "u-1": "rt-analyst@example.com",
        "u-2": None,
        "u-3": "ana@xn--bcher-kva.example",
    }
    events = query(url, "SELECT user_id FROM audit_events WHERE event = 'user.email_collision'")
    assert events == [("u-2",)]
