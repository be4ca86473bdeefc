"""identity.clients: registration rules, hashed secrets with overlap, disabling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from webapp.identity.delegation import OPERATOR
from webapp.identity.errors import Conflict, NotFound, PolicyViolation
from webapp.models import OAuthClient

from .conftest import Core

CALLBACK = "http://127.0.0.1/callback"


def register(core: Core, **kwargs: object) -> tuple[str, str | None]:
    args: dict[str, object] = {
        "name": "svc",
        "grants": ["client_credentials"],
        "holder": OPERATOR,
        **kwargs,
    }
    registered = core.identity.clients.register(**args)  # type: ignore[arg-type]
    core.db.commit()
    return registered.row.client_id, registered.secret


def test_a_confidential_client_gets_a_secret_shown_once_and_stored_as_a_digest(
    core: Core,
) -> None:
    client_id, secret = register(core, scopes=["profile"])
    assert secret is not None and secret.startswith("limen_cs_")

    row = core.db.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    assert row is not None and secret not in (row.secret_digest or "")
    assert core.identity.clients.check_secret(row, secret)
    assert not core.identity.clients.check_secret(row, secret + "x")


def test_a_public_client_has_no_secret_and_nothing_matches(core: Core) -> None:
    client_id, secret = register(
        core, grants=["authorization_code"], redirect_uris=[CALLBACK], public=True
    )
    assert secret is None
    assert not core.identity.clients.check_secret(core.identity.clients.require(client_id), "")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"grants": []},
        {"grants": ["password"]},
        {"grants": ["implicit"]},
        {"grants": ["client_credentials"], "public": True},
        {"grants": ["authorization_code"]},  # no redirect URI
        {"grants": ["authorization_code"], "redirect_uris": ["https://app.example/cb#frag"]},
        {"scopes": ["root"]},
        {"client_id": "x"},
    ],
)
def test_registration_refuses_what_the_policy_forbids(
    core: Core, kwargs: dict[str, object]
) -> None:
    with pytest.raises(PolicyViolation):
        register(core, **kwargs)


def test_a_client_id_is_taken_once(core: Core) -> None:
    client_id, _ = register(core)
    with pytest.raises(Conflict):
        register(core, client_id=client_id)


def test_a_rotated_secret_overlaps_then_only_the_new_one_works(core: Core) -> None:
    client_id, old = register(core)
    assert old is not None
    new = core.identity.clients.rotate_secret(client_id, timedelta(seconds=60), holder=OPERATOR)
    core.db.commit()
    clients = core.identity.clients

    assert clients.check_secret(clients.require(client_id), old)
    assert clients.check_secret(clients.require(client_id), new)
    core.clock.advance(61)
    assert not clients.check_secret(clients.require(client_id), old)
    assert clients.check_secret(clients.require(client_id), new)


def test_a_disabled_client_is_gone_and_builtin_clients_cannot_be_disabled(core: Core) -> None:
    client_id, _ = register(core)
    core.identity.clients.disable(client_id)
    core.db.commit()

    assert core.identity.clients.get(client_id) is None
    with pytest.raises(NotFound):
        core.identity.clients.rotate_secret(client_id, timedelta(0), holder=OPERATOR)
    with pytest.raises(PolicyViolation):
        core.identity.clients.disable("limen-portal")


def test_a_client_gets_only_the_registered_scopes_it_asks_for(core: Core) -> None:
    client_id, _ = register(core, scopes=["profile", "keys:read"])
    client = core.identity.clients.require(client_id)

    assert core.identity.clients.allowed_scopes(client, "keys:read users:write") == ["keys:read"]
    assert core.identity.clients.allowed_scopes(client, None) == ["keys:read", "profile"]
