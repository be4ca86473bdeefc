"""Access-token decoding fuzzed against the real key ring: tokens signed with the deployment's
own active key (so every one passes the kid lookup) carry arbitrary headers and claims, and
bit-flipped copies of real tokens test the signature. Whatever arrives, the answer is the
claims of a valid token or InvalidToken naming a cause — never a crash, never a bad token."""

from __future__ import annotations

import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jwt

from webapp.identity.errors import InvalidToken

from .conftest import Core

CAUSES = {"malformed", "bad_algorithm", "wrong_type", "bad_signature", "bad_claims", "expired"}
CAUSES |= {"bad_audience", "bad_issuer", "unknown_kid"}
FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)


def valid_claims(core: Core) -> dict[str, Any]:
    now = int(time.time())
    ring = core.identity.tokens
    return {
        "iss": ring.issuer,
        "aud": ring.audience,
        "sub": "someone",
        "sid": "a-session",
        "client_id": "limen-portal",
        "iat": now,
        "exp": now + 60,
    }


def accepted_claims_are_valid(core: Core, claims: dict[str, Any]) -> None:
    """What decode_access accepts must really be valid (the oracle)."""
    tokens, now = core.identity.tokens, time.time()
    assert claims["iss"] == tokens.issuer
    assert claims["aud"] == tokens.audience or tokens.audience in claims["aud"]
    assert isinstance(claims["exp"], int) and claims["exp"] >= now - 5 - 1
    assert all(isinstance(claims[c], str) for c in ("sub", "sid", "client_id"))


def decode(core: Core, token: str) -> None:
    try:
        claims = core.identity.tokens.decode_access(token)
    except InvalidToken as exc:
        assert exc.cause in CAUSES, exc.cause
    else:
        accepted_claims_are_valid(core, claims)


@FUZZ
@given(
    drop=st.sets(
        st.sampled_from(["iss", "aud", "sub", "sid", "client_id", "exp", "iat"]), max_size=1
    ),
    changes=st.dictionaries(
        st.sampled_from(["iss", "aud", "sub", "sid", "client_id", "exp", "iat", "nbf", "scope"]),
        json_value,
        max_size=2,
    ),
    typ=st.sampled_from(["at+jwt", "application/at+jwt", "JWT", "at+JWT"]),
)
def test_signed_tokens_with_arbitrary_claims_are_valid_or_refused_with_a_cause(
    core: Core, drop: set[str], changes: dict[str, Any], typ: str
) -> None:
    kid, key = core.identity.keys.signing_key()
    claims = {k: v for k, v in {**valid_claims(core), **changes}.items() if k not in drop}
    token = jwt.encode({"alg": "ES256", "typ": typ, "kid": kid}, claims, key, algorithms=["ES256"])
    decode(core, token)


def test_a_changed_character_anywhere_is_refused(core: Core) -> None:
    token = core.sign_in(core.user()).access_token
    # base64url's last character of a segment may carry unused bits: the same bytes, valid
    loose = {token.index(".") - 1, token.rindex(".") - 1, len(token) - 1}
    for position, char in enumerate(token):
        changed = token[:position] + ("A" if char != "A" else "B") + token[position + 1 :]
        try:
            core.identity.tokens.decode_access(changed)
        except InvalidToken as exc:
            assert exc.cause in CAUSES
        else:
            assert position in loose, position


def test_the_fuzzed_decoder_accepts_a_well_formed_token(core: Core) -> None:
    kid, key = core.identity.keys.signing_key()
    token = jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": kid}, valid_claims(core), key)
    assert core.identity.tokens.decode_access(token)["sub"] == "someone"


base62 = st.text(
    alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1
)


@FUZZ
@given(
    st.one_of(
        st.text(max_size=300), st.builds(lambda a, b, c: f"{a}.{b}.{c}", base62, base62, base62)
    )
)
def test_garbage_is_refused_with_a_cause(core: Core, text: str) -> None:
    try:
        core.identity.tokens.decode_access(text)
    except InvalidToken as exc:
        assert exc.cause in {"malformed", "bad_algorithm", "wrong_type", "unknown_kid"}
    else:
        raise AssertionError("garbage accepted")
