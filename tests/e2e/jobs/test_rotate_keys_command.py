"""`limen-server rotate-keys`: planned (enqueued for a worker) and --now (done at once, says
what it revoked)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from sqlalchemy import select

from tests.support.live import REPO_ROOT
from webapp.extensions import db
from webapp.identity import Credential, RequestMeta
from webapp.identity.errors import InvalidToken
from webapp.identity.tokens import Grant
from webapp.models import SigningKey

from .conftest import JobsNode, wait_for


def rotate_keys(node: JobsNode, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "webapp.jobs", "rotate-keys", *args],
        cwd=REPO_ROOT,
        env=node.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def key_states(node: JobsNode) -> dict[str, str]:
    with node.app.app_context():
        states = dict(db.session.execute(select(SigningKey.kid, SigningKey.state)).all())
        db.session.rollback()
    return states  # type: ignore[return-value]


def test_planned_rotation_is_enqueued_and_run_by_a_worker(make_node: Any) -> None:
    node: JobsNode = make_node()
    done = rotate_keys(node)
    assert done.returncode == 0, done.stderr
    assert "Rotation enqueued" in done.stdout and "JWKS" in done.stdout
    node.spawn("worker", "--burst")
    wait_for(lambda: sorted(key_states(node).values()) == ["active", "next"], 30, "a next key")


def test_emergency_rotation_switches_at_once_and_says_what_it_revoked(make_node: Any) -> None:
    node: JobsNode = make_node()
    with node.app.app_context():
        ident = node.app.extensions["limen.identity"]
        user = ident.accounts.create_user("victim@example.com", "correct horse battery staple")
        db.session.commit()
        grant = Grant(user.id, user.id, ("analyst",), ("profile",), "limen-portal", "password")
        tokens = [ident.tokens.start_session(grant, RequestMeta()) for _ in range(3)]
        db.session.commit()  # the test is the boundary of this unit of work
        (old_kid,) = key_states(node)

    done = rotate_keys(node, "--now", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["emergency"] and report["retired"] == [old_kid]
    assert report["sessions_revoked"] == 3
    assert key_states(node) == {old_kid: "retired", report["kid"]: "active"}
    with node.app.app_context():
        ident = node.app.extensions["limen.identity"]
        for token in tokens:
            try:
                ident.authenticate(Credential(token.access_token, "bearer"))
            except InvalidToken as exc:
                assert exc.cause in ("unknown_kid", "revoked_session")
            else:
                raise AssertionError("a token of the compromised key still verifies")
            assert not ident.sessions.exists(token.session_id)

    human = rotate_keys(node, "--now")
    assert "EMERGENCY" in human.stdout and "Sessions revoked: 0" in human.stdout
