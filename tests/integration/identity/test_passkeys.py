"""identity.passkeys on SQLite and PostgreSQL: what is stored, that the service only flushes,
single-use challenges, the counter check, and the relying party derived from the issuer."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.support.passkey import SoftPasskey
from webapp.identity.errors import InvalidCredentials, NotFound, PolicyViolation
from webapp.identity.passkeys import REGISTER, SECOND_FACTOR, SIGN_IN, Passkeys, RelyingParty
from webapp.models import AuditEvent, Passkey

from .conftest import META, Core

ORIGIN = "http://localhost:5998"


def service(core: Core) -> Passkeys:
    rp = RelyingParty.of_issuer(ORIGIN)
    return Passkeys(core.db, core.redis, core.identity.audit, core.clock, rp)


def test_the_relying_party_is_the_issuers_host_and_never_an_ip_address() -> None:
    assert RelyingParty.of_issuer("https://id.example.com") == RelyingParty(
        "id.example.com", "Limen", "https://id.example.com"
    )
    assert RelyingParty.of_issuer("http://LocalHost:8080/") == RelyingParty(
        "localhost", "Limen", "http://localhost:8080"
    )
    assert RelyingParty.of_issuer("http://127.0.0.1:5000") is None
    assert RelyingParty.of_issuer("http://[::1]:5000") is None


def test_a_registration_is_flushed_not_committed_and_stored_whole(core: Core) -> None:
    user, passkeys, soft = core.user(), service(core), SoftPasskey(ORIGIN)
    options = json.loads(passkeys.registration_options(user))
    assert options["authenticatorSelection"]["residentKey"] == "required"
    row = passkeys.register(user, soft.create(options), "  Laptop\x07 ", META)
    assert (row.name, row.sign_count, row.transports) == ("Laptop", 0, ["internal"])
    core.db.rollback()  # the caller owns the transaction: nothing of it stays
    assert core.db.scalar(select(Passkey).where(Passkey.user_id == user.id)) is None

    options = json.loads(passkeys.registration_options(user))
    passkeys.register(user, soft.create(options), None, META)
    core.db.commit()
    stored = core.db.scalars(select(Passkey).where(Passkey.user_id == user.id)).one()
    assert stored.name == "Passkey 1" and stored.public_key
    again = json.loads(passkeys.registration_options(user))
    assert [c["id"] for c in again["excludeCredentials"]] == [stored.credential_id]
    with pytest.raises(PolicyViolation, match="already registered"):
        passkeys.register(user, soft.create(again), "twice", META)


def test_challenges_are_single_use_and_bound_to_their_purpose(core: Core) -> None:
    user, passkeys, soft = core.user(), service(core), SoftPasskey(ORIGIN)
    passkeys.register(user, soft.create(json.loads(passkeys.registration_options(user))), "k")
    core.db.commit()

    second = json.loads(passkeys.second_factor_options(user))
    with pytest.raises(InvalidCredentials, match="already answered"):
        passkeys.verify(soft.get(second), SIGN_IN, META)  # a second-step challenge
    with pytest.raises(InvalidCredentials, match="already answered"):
        passkeys.verify(soft.get(second), SECOND_FACTOR, META, user_id=user.id)  # spent above

    options = json.loads(passkeys.sign_in_options())
    answer = soft.get(options)
    assert passkeys.verify(answer, SIGN_IN, META).id == user.id
    with pytest.raises(InvalidCredentials, match="already answered"):
        passkeys.verify(answer, SIGN_IN, META)
    with pytest.raises(InvalidCredentials):
        passkeys.verify(soft.get(options), REGISTER, META)


def test_a_counter_that_goes_back_is_refused_and_audited(core: Core) -> None:
    user, passkeys, soft = core.user(), service(core), SoftPasskey(ORIGIN)
    passkeys.register(user, soft.create(json.loads(passkeys.registration_options(user))), "k")
    passkeys.verify(soft.get(json.loads(passkeys.sign_in_options()), counter=9), SIGN_IN, META)
    core.db.commit()
    with pytest.raises(InvalidCredentials, match="went backwards"):
        passkeys.verify(soft.get(json.loads(passkeys.sign_in_options()), counter=9), SIGN_IN, META)
    core.db.commit()  # the boundary keeps the refusal's audit event
    row = core.db.scalars(select(Passkey).where(Passkey.user_id == user.id)).one()
    assert row.sign_count == 9
    reasons = core.db.scalars(
        select(AuditEvent.details).where(
            AuditEvent.user_id == user.id, AuditEvent.event == "passkey.failure"
        )
    ).all()
    assert [r["reason"] for r in reasons] == ["sign_count_regression"]


def test_names_and_removal_touch_only_the_owners_passkeys(core: Core) -> None:
    owner, other, passkeys = core.user(), core.user(), service(core)
    soft = SoftPasskey(ORIGIN)
    row = passkeys.register(
        owner, soft.create(json.loads(passkeys.registration_options(owner))), "a"
    )
    core.db.commit()
    with pytest.raises(NotFound):
        passkeys.rename(other, row.id, "mine now", META)
    with pytest.raises(NotFound):
        passkeys.remove(other, row.id, META)
    with pytest.raises(PolicyViolation, match="64 characters"):
        passkeys.rename(owner, row.id, "x" * 65, META)
    assert passkeys.rename(owner, row.id, "Phone", META).name == "Phone"
    assert passkeys.remove(owner, row.id, META) == "Phone"
    core.db.commit()
    assert passkeys.of_user(owner) == []
    with pytest.raises(InvalidCredentials, match="not registered"):
        passkeys.verify(soft.get(json.loads(passkeys.sign_in_options())), SIGN_IN, META)
