"""identity.mfa: enrolment, one-time codes used once, recovery codes, the sign-in ticket."""

from __future__ import annotations

import pyotp
import pytest

from webapp.identity.errors import InvalidCredentials, MfaRequired, PolicyViolation
from webapp.models import User

from .conftest import META, PASSWORD, Core


def enrol(core: Core, user: User) -> tuple[pyotp.TOTP, list[str]]:
    secret, uri = core.identity.mfa.begin(user)
    assert uri.startswith("otpauth://totp/") and secret in uri
    totp = pyotp.TOTP(secret)
    codes = core.identity.mfa.confirm(user, totp.at(core.clock()), META)
    core.clock.advance(totp.interval)  # the confirming code is spent; move to the next step
    return totp, codes


def test_confirming_with_a_current_code_turns_it_on_with_ten_recovery_codes(core: Core) -> None:
    user = core.user()
    _, codes = enrol(core, user)

    assert core.identity.mfa.enabled(user)
    assert len(set(codes)) == 10 and core.identity.mfa.recovery_codes_left(user) == 10


def test_confirming_with_a_wrong_code_leaves_it_off(core: Core) -> None:
    user = core.user()
    secret, _ = core.identity.mfa.begin(user)
    wrong = str((int(pyotp.TOTP(secret).at(core.clock())) + 1) % 1_000_000).zfill(6)

    with pytest.raises(PolicyViolation):
        core.identity.mfa.confirm(user, wrong, META)
    assert not core.identity.mfa.enabled(user)


def test_a_code_is_accepted_once(core: Core) -> None:
    user = core.user()
    totp, _ = enrol(core, user)
    code = totp.at(core.clock())

    assert core.identity.mfa.verify(user, code)
    assert not core.identity.mfa.verify(user, code)


def test_a_recovery_code_works_once_in_any_spelling(core: Core) -> None:
    user = core.user()
    _, codes = enrol(core, user)
    spelled = codes[0].replace("-", " ").upper()

    assert core.identity.mfa.verify(user, spelled)
    core.db.commit()
    assert not core.identity.mfa.verify(user, codes[0])
    assert core.identity.mfa.recovery_codes_left(user) == 9


def test_disable_needs_a_valid_code_and_removes_recovery_codes(core: Core) -> None:
    user = core.user()
    totp, codes = enrol(core, user)

    with pytest.raises(PolicyViolation):
        core.identity.mfa.disable(user, "000000" if totp.at(core.clock()) != "000000" else "111111")
    assert core.identity.mfa.enabled(user)

    core.identity.mfa.disable(user, totp.at(core.clock()), META)
    assert not core.identity.mfa.enabled(user)
    assert core.identity.mfa.recovery_codes_left(user) == 0
    assert not core.identity.mfa.verify(user, codes[1])


def test_sign_in_asks_for_the_code_and_the_ticket_is_single_use(core: Core) -> None:
    user = core.user()
    totp, _ = enrol(core, user)

    with pytest.raises(MfaRequired) as asked:
        core.identity.password_login(user.email, PASSWORD, META)
    tokens = core.identity.complete_second_step(asked.value.ticket, totp.at(core.clock()), META)

    principal = core.principal(tokens.access_token)
    assert (principal.sub, principal.auth_method) == (user.id, "password+otp")
    core.clock.advance(totp.interval)  # a fresh, valid code: only the ticket is spent
    with pytest.raises(InvalidCredentials):
        core.identity.complete_second_step(asked.value.ticket, totp.at(core.clock()), META)
