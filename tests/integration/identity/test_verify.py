"""identity.verify: every credential becomes a Principal here, or is refused with a cause."""

from __future__ import annotations

import pytest

from webapp.identity import Credential
from webapp.identity.delegation import Holder
from webapp.identity.errors import InvalidToken

from .conftest import META, Core


def refused(core: Core, value: str, source: str = "bearer") -> str:
    with pytest.raises(InvalidToken) as caught:
        core.identity.authenticate(Credential(value, source))  # type: ignore[arg-type]
    return caught.value.cause


def test_an_access_token_becomes_its_users_principal(core: Core) -> None:
    user = core.user()
    tokens = core.sign_in(user)

    principal = core.identity.authenticate(Credential(tokens.access_token, "bearer"))

    assert (principal.sub, principal.sid, principal.credential) == (
        user.id,
        tokens.session_id,
        "access_token",
    )
    assert "keys:write" in principal.scopes and principal.roles == ("analyst",)


def test_the_cookie_source_is_remembered_for_csrf_checks(core: Core) -> None:
    tokens = core.sign_in(core.user())
    assert core.identity.authenticate(Credential(tokens.access_token, "cookie")).credential == (
        "cookie"
    )


def test_an_api_key_becomes_its_owners_principal(core: Core) -> None:
    owner = core.user()
    issued = core.identity.api_keys.create(
        owner, "ci", ["profile"], None, holder=Holder.roles_of(owner.role_names)
    )
    core.db.commit()

    for source in ("bearer", "x-api-key"):
        principal = core.identity.authenticate(Credential(issued.secret, source))  # type: ignore[arg-type]
        assert (principal.sub, principal.api_key_id) == (owner.id, issued.row.id)
        assert principal.scopes == frozenset({"profile"})


def test_each_wrong_credential_is_refused_with_its_cause(core: Core) -> None:
    owner = core.user()
    tokens = core.sign_in(owner)
    key = core.identity.api_keys.create(
        owner, "ci", ["profile"], None, holder=Holder.roles_of(owner.role_names)
    ).secret
    core.db.commit()

    assert refused(core, "   ") == "malformed"
    assert refused(core, tokens.refresh_token or "") == "wrong_type"
    assert refused(core, key, "cookie") == "wrong_type"
    assert refused(core, tokens.access_token, "x-api-key") == "wrong_type"
    head, body, signature = tokens.access_token.split(".")
    flipped = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    assert refused(core, f"{head}.{body}.{flipped}") == "bad_signature"


def test_a_token_of_a_signed_out_session_is_refused_at_once(core: Core) -> None:
    user = core.user()
    tokens = core.sign_in(user)
    core.identity.logout(tokens.session_id, user.id, META)

    assert refused(core, tokens.access_token) == "revoked_session"
