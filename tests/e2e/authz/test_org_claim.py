"""The ``org`` claim: a session switches to an organisation its person belongs to with a
refresh that asks for it; a stranger's, an unknown or a malformed organisation is refused with
nothing spent, and a membership that ends drops the organisation at the next refresh."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.support.factories import Api


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def refresh(api: Api, refresh_token: str, **body: str) -> httpx.Response:
    return api.http.post("/auth/refresh", json={"refresh_token": refresh_token, **body})


def me(api: Api, access_token: str, path: str = "/api/v1/me") -> dict:
    answer = api.http.get(path, headers={"Authorization": f"Bearer {access_token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_member_switches_and_every_later_token_carries_the_org(api: Api, org):
    made = org()
    tokens = api.login(made["ana"])
    assert "org" not in claims(tokens["access_token"])
    listed = me(api, tokens["access_token"], "/api/v1/me/orgs")
    assert listed == {
        "items": [{"id": made["id"], "name": "Acme", "teams": ["data"], "current": False}],
        "current": None,
    }
    switched = refresh(api, tokens["refresh_token"], organization=made["id"])
    assert switched.status_code == 200, switched.text
    assert claims(switched.json()["access_token"])["org"] == made["id"]
    assert me(api, switched.json()["access_token"])["org"] == made["id"]
    # the session keeps it: a plain refresh still acts in the organisation
    again = refresh(api, switched.json()["refresh_token"])
    assert claims(again.json()["access_token"])["org"] == made["id"]
    current = me(api, again.json()["access_token"], "/api/v1/me/orgs")
    assert current["current"] == made["id"] and current["items"][0]["current"] is True
    left = refresh(api, again.json()["refresh_token"], organization="")
    assert "org" not in claims(left.json()["access_token"])
    assert me(api, left.json()["access_token"])["org"] is None


@pytest.mark.parametrize("which", ["stranger", "unknown", "malformed", "uppercase"])
def test_an_org_one_is_not_in_is_refused_and_nothing_is_spent(api: Api, org, which):
    mine, theirs = org(), org()
    asked = {
        "stranger": theirs["id"],  # exists, ana of another org is not in it
        "unknown": "no-such-org-here",
        "malformed": "../" + mine["id"],
        "uppercase": mine["id"].upper(),
    }[which]
    tokens = api.login(mine["ana"])
    refused = refresh(api, tokens["refresh_token"], organization=asked)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "urn:limen:problem:not-a-member"
    assert "not a member" in problem["detail"] and "/api/v1/me/orgs" in problem["detail"]
    # the same refresh token still works, and the session acts in no organisation
    after = refresh(api, tokens["refresh_token"])
    assert after.status_code == 200, after.text
    assert "org" not in claims(after.json()["access_token"])


@pytest.mark.parametrize("value", ["x" * 65, 7, ["acme"], "a\x00b"])
def test_a_malformed_organization_field_is_a_400(api: Api, org, value):
    tokens = api.login(org()["ana"])
    answer = api.http.post(
        "/auth/refresh", json={"refresh_token": tokens["refresh_token"], "organization": value}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["type"] == "urn:limen:problem:validation-error"
    assert refresh(api, tokens["refresh_token"]).status_code == 200


def test_a_membership_that_ends_drops_the_org_at_the_next_refresh(api: Api, admin, org):
    made = org()
    tokens = api.login(made["ana"])
    switched = refresh(api, tokens["refresh_token"], organization=made["id"]).json()
    removed = api.http.delete(
        f"/api/v1/orgs/{made['id']}/members/{made['ana'].email}", headers=admin
    )
    assert removed.status_code == 204, removed.text
    after = refresh(api, switched["refresh_token"])
    assert after.status_code == 200, after.text
    assert "org" not in claims(after.json()["access_token"])
    assert me(api, after.json()["access_token"], "/api/v1/me/orgs") == {
        "items": [],
        "current": None,
    }
    back = refresh(api, after.json()["refresh_token"], organization=made["id"])
    assert back.status_code == 403
