"""The admin API for organisations, members, entities and policies: problem+json refusals
that leave nothing written, versions with who and when, and rollback."""

from __future__ import annotations

import pytest

from tests.e2e.authz.conftest import SCHEMA, policies
from tests.support.factories import Api

pytestmark = pytest.mark.both_backends  # uniqueness, concurrency and transactions differ


def current(api: Api, admin, org_id: str) -> dict:
    return api.http.get(f"/api/v1/orgs/{org_id}/policies", headers=admin).json()


def test_an_organisation_starts_with_its_creator_as_administrator(api: Api, admin, admin_email):
    created = api.http.post("/api/v1/orgs", json={"id": "first-org-x", "name": "X"}, headers=admin)
    if created.status_code == 409:  # the other backend's run in this session made it
        created = api.http.get("/api/v1/orgs/first-org-x", headers=admin)
    body = created.json()
    assert body["version"] >= 1 and body["members"][0]["teams"] == ["admins"]
    again = api.http.post("/api/v1/orgs", json={"id": "first-org-x", "name": "X"}, headers=admin)
    assert again.status_code == 409
    listed = api.http.get("/api/v1/orgs", headers=admin).json()["items"]
    assert "first-org-x" in [o["id"] for o in listed]


def test_an_invalid_policy_is_a_422_with_cedars_messages_and_nothing_saved(api: Api, admin, org):
    made = org()
    before = current(api, admin, made["id"])
    broken = policies(made["id"], "permit (principal, action, resource) when { resource. };")
    answer = api.http.put(
        f"/api/v1/orgs/{made['id']}/policies",
        json={**made["document"], "policies": broken},
        headers=admin,
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"] == "urn:limen:problem:invalid-policy"
    assert problem["errors"][0]["line"] == broken.count("\n") + 1
    assert problem["errors"][0]["column"] == 1
    assert current(api, admin, made["id"]) == before


def test_validate_answers_without_saving(api: Api, admin, org):
    made = org()
    before = current(api, admin, made["id"])
    url = f"/api/v1/orgs/{made['id']}/policies/validate"
    assert api.http.post(url, json=made["document"], headers=admin).json() == {"valid": True}
    wrong = {
        **made["document"],
        "policies": 'permit (principal, action == Acme::Action::"x", resource);',
    }
    refused = api.http.post(url, json=wrong, headers=admin)
    assert refused.status_code == 422 and "Acme::Action" in refused.json()["errors"][0]["message"]
    assert current(api, admin, made["id"]) == before


def test_removing_the_last_way_to_administer_is_refused(api: Api, admin, admin_email, org):
    made = org()
    org_id = made["id"]
    without = made["document"]["policies"].split('@id("team-read")', 1)[1]
    refused = api.http.put(
        f"/api/v1/orgs/{org_id}/policies",
        json={**made["document"], "policies": '@id("team-read")' + without},
        headers=admin,
    )
    assert refused.status_code == 422
    assert refused.json()["type"] == "urn:limen:problem:no-administrator"
    leave = api.http.delete(f"/api/v1/orgs/{org_id}/members/{admin_email}", headers=admin)
    assert leave.status_code == 422
    members = api.http.get(f"/api/v1/orgs/{org_id}", headers=admin).json()["members"]
    assert {"email": admin_email, "teams": ["admins"]} in members


def test_history_and_rollback(api: Api, admin, org):
    made = org()
    org_id = made["id"]
    history = api.http.get(f"/api/v1/orgs/{org_id}/policies/versions", headers=admin).json()
    assert [v["version"] for v in history["items"]] == [3, 2, 1]
    second = api.http.get(f"/api/v1/orgs/{org_id}/policies/versions/2", headers=admin).json()
    rolled = api.http.post(
        f"/api/v1/orgs/{org_id}/policies/rollback", json={"version": 2}, headers=admin
    )
    assert rolled.status_code == 201 and rolled.json()["version"] == 4
    assert rolled.json()["links"] == second["links"] == []
    assert rolled.json()["author"] and rolled.json()["note"] == "rollback to version 2"
    # Version 1 had no schema: the resources stored since would not fit it.
    unfit = api.http.post(
        f"/api/v1/orgs/{org_id}/policies/rollback", json={"version": 1}, headers=admin
    )
    assert unfit.status_code == 422 and unfit.json()["type"] == "urn:limen:problem:invalid-policy"
    missing = api.http.post(
        f"/api/v1/orgs/{org_id}/policies/rollback", json={"version": 99}, headers=admin
    )
    assert missing.status_code == 404
    after = api.http.get(f"/api/v1/orgs/{org_id}/policies/versions", headers=admin).json()
    assert [v["version"] for v in after["items"]] == [4, 3, 2, 1]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/policies", {"policies": 42}),
        ("/policies", {"policies": "", "schema": SCHEMA, "extra": 1}),
        ("/policies", {"policies": "", "links": [{"id": "1bad", "template": "t"}]}),
        ("/entities", {"entities": []}),
        ("/entities", {"entities": [{"uid": {"type": "Acme::Project"}}]}),
        ("/members/nobody@example.com", {"teams": "data"}),
    ],
)
def test_malformed_bodies_are_400(api: Api, admin, org, path, body):
    made = org()
    method = api.http.put
    answer = method(f"/api/v1/orgs/{made['id']}{path}", json=body, headers=admin)
    assert answer.status_code == 400, answer.text
    assert answer.json()["type"] == "urn:limen:problem:validation-error"


def test_unknown_things_are_404(api: Api, admin):
    assert api.http.get("/api/v1/orgs/no-such-org", headers=admin).status_code == 404
    assert api.http.get("/api/v1/orgs/BAD%20ID", headers=admin).status_code == 404
    assert (
        api.http.put(
            "/api/v1/orgs/no-such-org/members/a@example.com", json={"teams": []}, headers=admin
        ).status_code
        == 404
    )


def test_analysts_cannot_change_policies(api: Api, org, admin):
    made = org()
    token = api.login(made["ana"])["access_token"]
    before = current(api, admin, made["id"])
    for method, path, body in [
        ("GET", "/policies", None),
        ("PUT", "/policies", made["document"]),
        ("PUT", "/entities", {"entities": []}),
        ("DELETE", f"/members/{made['ana'].email}", None),
    ]:
        answer = api.http.request(
            method, f"/api/v1/orgs/{made['id']}{path}", json=body, headers=api.bearer(token)
        )
        assert answer.status_code == 403, (method, path)
    assert current(api, admin, made["id"]) == before
