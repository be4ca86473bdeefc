"""Choosing the organisation at sign-in: ``organization`` on /oauth/authorize puts the ``org``
claim in the tokens the code buys, for a member only (a stranger's, an unknown or a hostile
value is ``access_denied`` at the client's redirect URI); membership is checked again at the
exchange and at every refresh, where the client may switch (``organization=``)."""

from __future__ import annotations

import base64
import json
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client

from tests.support.browser import follow_authorize

CALLBACK = "https://app.example.com/cb"


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture
def setup(server, admin_headers, browser, make_client):
    """Two organisations; the signed-in person is a member of the first only."""
    http, account = browser
    mine, theirs = f"org-{secrets.token_hex(4)}", f"org-{secrets.token_hex(4)}"
    for org_id in (mine, theirs):
        made = httpx.post(
            f"{server.url}/api/v1/orgs", json={"id": org_id, "name": "O"}, headers=admin_headers
        )
        assert made.status_code == 201, made.text
    joined = httpx.put(
        f"{server.url}/api/v1/orgs/{mine}/members/{account.email}",
        json={"teams": []},
        headers=admin_headers,
    )
    assert joined.status_code == 200, joined.text
    app = make_client(
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=[CALLBACK],
        scopes=["openid", "offline_access"],
    )
    return {"http": http, "account": account, "mine": mine, "theirs": theirs, "app": app}


def authorize_url(metadata, app, verifier: str, **extra: str) -> tuple[OAuth2Client, str]:
    client = OAuth2Client(
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        code_challenge_method="S256",
        redirect_uri=CALLBACK,
        scope="openid offline_access",
    )
    url, _ = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier
    )
    return client, f"{url}&{urlencode(extra)}" if extra else url


def refresh(metadata, app, token: str, **extra: str) -> httpx.Response:
    return httpx.post(
        metadata["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": token, **extra},
        auth=(app["client_id"], app["client_secret"]),
    )


def test_a_member_signs_in_to_an_org_and_the_client_can_switch(metadata, setup):
    app, mine, theirs = setup["app"], setup["mine"], setup["theirs"]
    verifier = secrets.token_urlsafe(48)
    client, url = authorize_url(metadata, app, verifier, organization=mine)
    with client:
        token = client.fetch_token(
            metadata["token_endpoint"],
            authorization_response=follow_authorize(setup["http"], url),
            code_verifier=verifier,
        )
    assert claims(token["access_token"])["org"] == mine
    kept = refresh(metadata, app, token["refresh_token"])
    assert kept.status_code == 200 and claims(kept.json()["access_token"])["org"] == mine
    refused = refresh(metadata, app, kept.json()["refresh_token"], organization=theirs)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "invalid_request"
    assert "not a member" in refused.json()["error_description"]
    left = refresh(metadata, app, kept.json()["refresh_token"], organization="")
    assert left.status_code == 200 and "org" not in claims(left.json()["access_token"])


@pytest.mark.parametrize("which", ["theirs", "unknown", "hostile"])
def test_an_org_the_person_is_not_in_is_access_denied(metadata, setup, which):
    asked = {"theirs": setup["theirs"], "unknown": "no-such-org", "hostile": 'x"\\\u202e<b>'}
    _, url = authorize_url(
        metadata, setup["app"], secrets.token_urlsafe(48), organization=asked[which]
    )
    state = parse_qs(urlsplit(url).query)["state"]
    answer = setup["http"].get(url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["Location"])
    assert location.geturl().startswith(CALLBACK)
    query = parse_qs(location.query)
    assert query["error"] == ["access_denied"] and query["state"] == state
    assert "not a member" in query["error_description"][0]
    assert "code" not in query


def test_a_membership_ended_before_the_exchange_is_invalid_grant(
    server, metadata, setup, admin_headers
):
    app, mine = setup["app"], setup["mine"]
    verifier = secrets.token_urlsafe(48)
    _, url = authorize_url(metadata, app, verifier, organization=mine)
    code = parse_qs(urlsplit(follow_authorize(setup["http"], url)).query)["code"][0]
    removed = httpx.delete(
        f"{server.url}/api/v1/orgs/{mine}/members/{setup['account'].email}",
        headers=admin_headers,
    )
    assert removed.status_code == 204, removed.text
    exchanged = httpx.post(
        metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
        auth=(app["client_id"], app["client_secret"]),
    )
    assert exchanged.status_code == 400, exchanged.text
    assert exchanged.json()["error"] == "invalid_grant"
    assert "no longer a member" in exchanged.json()["error_description"]
