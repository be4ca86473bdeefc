"""Sign-in through a real OpenID Provider (npm `oidc-provider`) running locally: Limen
provisions the person just in time, maps groups to roles, reuses the user next time, and
refuses answers it cannot verify."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from joserfc.jwk import ECKey

from tests.conftest import base_env
from tests.support.db import execute, scalar
from tests.support.live import LiveServer
from tests.support.oidc_op import OidcProvider, sign_in_upstream, sign_in_upstream_until
from tests.support.services import free_port

ACCOUNTS = {
    "alice": {
        "email": "alice@corp.example",
        "email_verified": True,
        "name": "Alice",
        "groups": ["limen-admins"],
    },
    "bob": {"email": "bob@corp.example", "email_verified": True, "name": "Bob", "groups": []},
    "carol": {"email": "carol@corp.example", "email_verified": False, "groups": []},
}


def op_clients(port: int, alg: str = "RS256") -> list[dict]:
    return [
        {
            "client_id": "limen",
            "client_secret": "op-secret",
            "redirect_uris": [f"http://127.0.0.1:{port}/auth/callback/corp"],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "id_token_signed_response_alg": alg,
        }
    ]


def start(redis_server, make_database, *, issuer_host="127.0.0.1", jwks=None, **extra):
    port = free_port()
    alg = "ES256" if jwks else "RS256"  # the package's development keys are RSA
    op = OidcProvider(op_clients(port, alg), ACCOUNTS, issuer_host=issuer_host, jwks=jwks)
    op.start()
    env = base_env(
        redis_server.url,
        make_database("sqlite"),
        LIMEN_UPSTREAM_PROVIDERS="corp",
        LIMEN_UPSTREAM_CORP_ISSUER=f"http://127.0.0.1:{op.port}",
        LIMEN_UPSTREAM_CORP_CLIENT_ID="limen",
        LIMEN_UPSTREAM_CORP_CLIENT_SECRET="op-secret",
        LIMEN_UPSTREAM_CORP_LABEL="Corp SSO",
        LIMEN_UPSTREAM_CORP_SCOPES="openid email profile groups",
        LIMEN_UPSTREAM_CORP_ROLE_MAP="limen-admins=admin",
        **extra,
    )
    node = LiveServer(env, port=port)
    node.start()
    return op, node


@pytest.fixture
def idp(redis_server, make_database) -> Iterator[tuple[OidcProvider, LiveServer]]:
    op, node = start(redis_server, make_database)
    yield op, node
    node.stop()
    op.stop()


def test_sign_in_provisions_maps_groups_and_reuses_the_user(idp):
    _, node = idp
    with httpx.Client() as browser:
        page = browser.get(f"{node.url}/login")
        assert "Continue with Corp SSO" in page.text
        done = sign_in_upstream(browser, f"{node.url}/auth/login/corp?next=/keys", "alice")
        assert done.url.path == "/keys" and done.status_code == 200, done.text[:300]
        me = browser.get(f"{node.url}/api/v1/me").json()
    assert me["email"] == "alice@corp.example" and me["roles"] == ["admin"]
    assert me["auth_method"] == "upstream:corp"
    assert (me["amr"], me["acr"]) == (["fed"], "urn:limen:acr:1fa")  # RFC 8176 amr
    with httpx.Client() as browser:
        sign_in_upstream(browser, f"{node.url}/auth/login/corp", "alice")
    url = node.env["LIMEN_DATABASE_URL"]
    assert scalar(url, "SELECT count(*) FROM users WHERE email = 'alice@corp.example'") == 1
    assert scalar(url, "SELECT count(*) FROM upstream_identities WHERE subject = 'alice'") == 1
    assert scalar(url, "SELECT password_hash FROM users WHERE email = 'alice@corp.example'") is None


def test_default_role_and_unverified_email(idp):
    _, node = idp
    with httpx.Client() as browser:
        sign_in_upstream(browser, f"{node.url}/auth/login/corp", "bob")
        assert browser.get(f"{node.url}/api/v1/me").json()["roles"] == ["analyst"]
    with httpx.Client() as browser:
        refused = sign_in_upstream(browser, f"{node.url}/auth/login/corp", "carol")
        assert refused.status_code == 403 and "verified email" in refused.text
    url = node.env["LIMEN_DATABASE_URL"]
    assert scalar(url, "SELECT count(*) FROM users WHERE email = 'carol@corp.example'") == 0
    assert (
        scalar(url, "SELECT count(*) FROM audit_events WHERE event = 'login.upstream_failure'") == 1
    )


def test_tampered_nonce_is_refused(idp):
    _, node = idp
    with httpx.Client() as browser:
        first = browser.get(f"{node.url}/auth/login/corp")
        location = first.headers["Location"].replace("nonce=", "nonce=tampered")
        browser.get(location)  # the provider's interaction starts with the altered nonce
        refused = sign_in_upstream(browser, location, "alice")
        assert refused.status_code == 400 and "could not be verified" in refused.text
        assert browser.get(f"{node.url}/api/v1/me").status_code == 401


def test_provider_claiming_another_issuer_is_refused(redis_server, make_database):
    op, node = start(redis_server, make_database, issuer_host="localhost")
    try:
        with httpx.Client() as browser:
            page = browser.get(f"{node.url}/auth/login/corp")
            assert page.status_code == 400 and "identifies itself as" in page.text
    finally:
        node.stop()
        op.stop()


def test_cli_authorization_with_upstream_sign_in_in_the_middle(idp):
    _, node = idp
    authorize = (
        f"{node.url}/oauth/authorize?response_type=code&client_id=limen-cli"
        "&redirect_uri=http://127.0.0.1:45999/callback&state=st&scope=profile"
        "&code_challenge=" + "A" * 43 + "&code_challenge_method=S256"
    )
    with httpx.Client() as browser:
        to_login = browser.get(authorize)
        login_page = browser.get(f"{node.url}{to_login.headers['Location']}")
        start = re.search(r'href="(/auth/login/corp\?next=[^"]+)"', login_page.text)
        assert start and "next=/oauth/authorize?response_type" in start.group(1)
        back = sign_in_upstream_until(
            browser,
            f"{node.url}{start.group(1).replace('&amp;', '&')}",
            "alice",
            stop_at=node.url + "/oauth/authorize",
        )
    assert back.startswith("http://127.0.0.1:45999/callback?code=") and "state=st" in back


def signing_keys(kid: str) -> dict:
    key = ECKey.generate_key("P-256", {"kid": kid, "alg": "ES256", "use": "sig"}, private=True)
    return {"keys": [key.as_dict(private=True)]}


def test_id_token_with_a_bad_signature_is_refused(redis_server, make_database):
    # The provider later signs with other key material under the same kid: the ID token's
    # signature no longer verifies against the JWKS Limen fetched.
    op, node = start(redis_server, make_database, jwks=signing_keys("k1"))
    try:
        with httpx.Client() as browser:
            ok = sign_in_upstream(browser, f"{node.url}/auth/login/corp", "alice")
            assert ok.status_code == 200
        op.stop()
        op = OidcProvider(
            op_clients(node.port, "ES256"), ACCOUNTS, port=op.port, jwks=signing_keys("k1")
        )
        op.start()
        with httpx.Client() as browser:
            refused = sign_in_upstream(browser, f"{node.url}/auth/login/corp", "alice")
            assert refused.status_code == 400 and "could not be verified" in refused.text
            assert browser.get(f"{node.url}/api/v1/me").status_code == 401
    finally:
        node.stop()
        op.stop()


def test_existing_accounts_link_only_when_allowed_and_admins_can_be_bootstrapped(
    redis_server, make_database
):
    op, node = start(
        redis_server,
        make_database,
        LIMEN_BOOTSTRAP_ADMINS="bob@corp.example",
        LIMEN_LOCAL_LOGIN_ENABLED="false",
    )
    try:
        with httpx.Client() as browser:
            page = browser.get(f"{node.url}/login")
            assert "Continue with Corp SSO" in page.text and 'name="password"' not in page.text
            sign_in_upstream(browser, f"{node.url}/auth/login/corp", "bob")
            assert "admin" in browser.get(f"{node.url}/api/v1/me").json()["roles"]
        refused = httpx.post(
            f"{node.url}/auth/login", json={"email": "bob@corp.example", "password": "whatever pw"}
        )
        assert refused.status_code == 403 and "identity providers" in refused.json()["detail"]
        # A local account with alice's email exists: no silent takeover by the provider.
        url = node.env["LIMEN_DATABASE_URL"]
        execute(
            url,
            "INSERT INTO users (id, email, display_name, is_active, "
            "failed_login_count, created_at, updated_at) VALUES ('local-alice', "
            "'alice@corp.example', '', true, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        )
        with httpx.Client() as browser:
            refused = sign_in_upstream(browser, f"{node.url}/auth/login/corp", "alice")
            assert refused.status_code == 403 and "already exists" in refused.text
        assert scalar(url, "SELECT count(*) FROM upstream_identities WHERE subject = 'alice'") == 0
    finally:
        node.stop()
        op.stop()
