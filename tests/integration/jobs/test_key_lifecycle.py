"""Signing keys move next -> active -> retiring -> retired on a controlled clock, and no token
is ever rejected because of a rotation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.tokens import unverified_claims
from webapp.identity import Credential
from webapp.identity.crypto import derive_fernet
from webapp.identity.errors import InvalidToken
from webapp.identity.signing_keys import KeyRing
from webapp.jobs import enqueue_key_rotation, overview

from .conftest import JobsHarness

TTL = 600  # access_token_ttl
PUBLISH = 360  # key_publish_seconds (default)
MARGIN = 65  # key_retire_margin_seconds (default)


def kid_of(token: str) -> str:
    import base64
    import json

    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def states(h: JobsHarness) -> dict[str, str]:
    return {k["kid"]: k["state"] for k in overview(h.jobs)["signing_keys"]}


def published(h: JobsHarness) -> set[str]:
    return {k["kid"] for k in h.identity.keys.jwks()["keys"]}


def verifies(h: JobsHarness, token: str) -> bool:
    try:
        h.identity.authenticate(Credential(token, "bearer"))
    except InvalidToken:
        return False
    return True


def test_full_lifecycle_keeps_every_token_valid_until_it_expires(harness: JobsHarness) -> None:
    h = harness
    with h.app.app_context():
        user = h.user("rotation@example.com")
        before = h.login(user).access_token
        k1 = kid_of(before)

        enqueue_key_rotation(h.jobs, now=False, actor="test")
        h.run_jobs()
        (k2,) = set(states(h)) - {k1}
        assert states(h) == {k1: "active", k2: "next"}
        assert published(h) == {k1, k2}  # published before it signs anything
        assert kid_of(h.login(user).access_token) == k1

        # Another process's ring, loaded now: it keeps signing with k1 until it re-checks.
        stale = KeyRing(
            h.identity.db,
            derive_fernet(h.identity.settings.secret_key_value(), b"signing-keys"),
            h.clock,
            signer_check_seconds=3600,
        )
        stale.signing_key()

        h.clock.advance(PUBLISH - 1)
        h.run("keys.maintain")
        assert states(h)[k2] == "next"

        h.clock.advance(1)
        summary = h.run("keys.maintain")
        assert summary["transitions"] == [{"kid": k2, "to": "active"}]
        assert states(h) == {k1: "retiring", k2: "active"}
        after = h.login(user)
        assert kid_of(after.access_token) == k2
        assert verifies(h, before) and verifies(h, after.access_token)

        # The straggler signs with k1 right after the switch; its token must live out its TTL.
        late = _mint_with(stale, h, user, after.session_id)
        assert kid_of(late) == k1

        h.clock.advance(TTL - 1)
        h.run("keys.maintain")
        assert verifies(h, late)
        assert states(h)[k1] == "retiring" and k1 in published(h)

        h.clock.advance(MARGIN)
        assert not verifies(h, late)  # expired (by its exp), while k1 is still published
        assert h.run("keys.maintain")["transitions"] == []
        h.clock.advance(1)  # promotion + TTL + margin: nothing k1 signed can still be valid
        summary = h.run("keys.maintain")
        assert summary["transitions"] == [{"kid": k1, "to": "retired"}]
        assert states(h) == {k1: "retired", k2: "active"}
        assert published(h) == {k2}

        # The schedule rotates again when the active key is key_rotation_days old.
        h.clock.advance(30 * 86_400)
        summary = h.run("keys.maintain")
        assert [t["to"] for t in summary["transitions"]] == ["next"]
        h.identity.db.rollback()


def _mint_with(ring: KeyRing, h: JobsHarness, user: Any, sid: str) -> str:
    """Mint an access token the way a process holding ``ring`` would."""
    from webapp.identity.tokens import Grant, TokenService

    tokens = h.identity.tokens
    service = TokenService(
        h.identity.db,
        h.app.extensions["limen.redis"],
        h.identity.sessions,
        ring,
        h.identity.revocation,
        h.identity.audit,
        h.clock,
        derive_fernet("x" * 40, b"refresh-retry"),
        issuer=tokens.issuer,
        audience=tokens.audience,
        access_ttl=tokens.access_ttl,
        refresh_ttl=tokens.refresh_ttl,
        retry_window=0,
    )
    grant = Grant(user.id, user.id, user.role_names, ("profile",), "limen-portal", "password")
    return service.mint_access(grant, sid, h.clock())[0]


@pytest.mark.parametrize("twice", [False, True])
def test_emergency_rotation_revokes_what_the_old_key_signed(
    harness: JobsHarness, twice: bool
) -> None:
    h = harness
    with h.app.app_context():
        user = h.user("compromised@example.com")
        old = h.login(user)
        k1 = kid_of(old.access_token)
        h.clock.advance(3 * TTL)
        idle = h.login(user)  # signed by k1 too, but its last token has expired by now
        h.clock.advance(TTL + 10)
        fresh = h.login(user)

        outcome = enqueue_key_rotation(h.jobs, now=True, actor="test")
        h.identity.db.commit()  # the test is the boundary: the rotation holds from here
        assert outcome["emergency"] and outcome["retired"] == [k1]
        # At once, before any job ran: the old key is out of JWKS and its tokens are rejected.
        assert published(h) == {outcome["kid"]}
        assert not verifies(h, fresh.access_token)
        h.clock.advance(11)  # past the window in which a straggler could still sign with k1
        later = h.login(user)
        assert kid_of(later.access_token) == outcome["kid"]

        if twice:  # a second worker picking the same job up changes nothing more
            params = overview(h.jobs)["runs"][0]["params"]
            h.jobs.enqueue("keys.revoke_signed", trigger="manual", params=params)
        h.run_jobs()
        runs = [r for r in overview(h.jobs)["runs"] if r["job"] == "keys.revoke_signed"]
        assert all(r["status"] == "succeeded" for r in runs)
        assert sum(r["summary"]["sessions_revoked"] for r in runs) == 1  # `fresh` only
        assert not h.identity.sessions.exists(fresh.session_id)
        # Sessions whose last token from k1 expired long ago were left alone.
        assert h.identity.sessions.exists(old.session_id)
        assert h.identity.sessions.exists(idle.session_id)
        assert verifies(h, later.access_token)
        assert unverified_claims(fresh.access_token)["sid"] == fresh.session_id
        h.identity.db.rollback()


def test_each_algorithm_in_use_rotates_on_its_own_line(harness: JobsHarness) -> None:
    h = harness
    with h.app.app_context():
        ring = h.identity.keys
        es_old, _ = ring.signing_key()
        rs_old, _ = ring.signing_key("RS256")  # what the first RS256 ID token creates
        h.identity.db.commit()  # the test is the boundary that commits the new key line

        def lines() -> dict[str, dict[str, str]]:
            out: dict[str, dict[str, str]] = {}
            for key in overview(h.jobs)["signing_keys"]:
                out.setdefault(key["state"], {})[key["alg"]] = key["kid"]
            return out

        assert lines() == {"active": {"ES256": es_old, "RS256": rs_old}}
        enqueue_key_rotation(h.jobs, now=False, actor="test")
        h.run_jobs()
        waiting = lines()["next"]
        assert set(waiting) == {"ES256", "RS256"}  # EdDSA is not in use: no key for it
        assert published(h) == {es_old, rs_old, *waiting.values()}

        h.clock.advance(PUBLISH)
        h.run("keys.maintain")
        assert lines()["active"] == waiting and lines()["retiring"] == {
            "ES256": es_old,
            "RS256": rs_old,
        }
        assert ring.signing_key("RS256")[0] == waiting["RS256"]
        assert ring.signing_key()[0] == waiting["ES256"]
        assert ring.verification_key(rs_old) is None  # an RS256 key never verifies ES256
        h.identity.db.rollback()
