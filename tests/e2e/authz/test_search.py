"""AuthZEN 1.0 search over HTTP: a team's service asks "who may read this?", "what may Ana
read?", "what may Ana do to this?" with a client-credentials token, page by page."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.support.factories import Api

from .conftest import file

USER = "Limen::User"
REPORT = {"type": "Acme::File", "id": "report.csv"}


def search(url: str, headers, kind: str, body: dict) -> httpx.Response:
    return httpx.post(f"{url}/access/v1/search/{kind}", json=body, headers=headers)


def subject_body(org_id: str, **extra) -> dict:
    return {
        "subject": {"type": USER},
        "action": {"name": "read"},
        "resource": REPORT,
        "context": {"org": org_id},
        **extra,
    }


def test_who_may_read_the_report(server, service, admin, org, api: Api):
    made = org()
    bob = api.register()  # a member in another team: not allowed
    put = httpx.put(
        f"{server.url}/api/v1/orgs/{made['id']}/members/{bob.email}",
        json={"teams": ["ops"]},
        headers=admin,
    )
    assert put.status_code == 200
    answer = search(server.url, service, "subject", subject_body(made["id"]))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "results": [{"type": USER, "id": made["ana"].email.lower()}],
        "page": {"next_token": "", "count": 1},
    }
    explained = search(
        server.url, service, "subject", subject_body(made["id"], options={"explain": True})
    ).json()
    assert explained["context"]["policies"][0]["policies"] == [
        {"policy": "data-analytics", "effect": "permit", "id": "team-read"}
    ]


def test_what_may_ana_read_and_do(server, service, org):
    made = org()
    ana = {"type": USER, "id": made["ana"].email}
    context = {"org": made["id"]}

    def resources(kind: str) -> list[str]:
        body = {"subject": ana, "action": {"name": "read"}, "resource": {"type": kind}}
        answer = search(server.url, service, "resource", {**body, "context": context})
        assert answer.status_code == 200, answer.text
        return [r["id"] for r in answer.json()["results"]]

    assert resources("Acme::File") == ["report.csv"]  # keys.txt is in another project
    assert resources("Acme::Project") == ["analytics"]  # vault is secret: forbidden
    actions = search(
        server.url, service, "action", {"subject": ana, "resource": REPORT, "context": context}
    )
    assert actions.status_code == 200, actions.text
    assert actions.json()["results"] == [{"name": 'Acme::Action::"read"'}]  # not write


def test_pages_walk_every_result_once(server, service, admin, org):
    made = org()
    extra = [file(f"f{i:02}.csv", "analytics") for i in range(7)]
    put = httpx.put(
        f"{server.url}/api/v1/orgs/{made['id']}/entities",
        json={"entities": extra},
        headers=admin,
    )
    assert put.status_code == 200, put.text
    body = {
        "subject": {"type": USER, "id": made["ana"].email},
        "action": {"name": "read"},
        "resource": {"type": "Acme::File"},
        "context": {"org": made["id"]},
        "page": {"limit": 3},
    }
    seen: list[str] = []
    pages = 0
    while True:
        answer = search(server.url, service, "resource", body)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        seen += [r["id"] for r in page["results"]]
        pages += 1
        assert page["page"]["count"] == len(page["results"]) <= 3
        if not page["page"]["next_token"]:
            break
        body["page"] = {"limit": 3, "token": page["page"]["next_token"]}
    assert seen == sorted([*(e["uid"]["id"] for e in extra), "report.csv"])
    assert pages == 3


def _token(kind: str, after: str) -> str:
    raw = json.dumps({"k": kind, "a": after}).encode()
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize(
    ("kind", "change", "slug"),
    [
        ("subject", {"subject": {"type": "Limen::Usr"}}, "unknown-entity-type"),
        ("subject", {"resource": {"type": "Acme::Fil", "id": "x"}}, "unknown-entity-type"),
        ("subject", {"action": {"name": "reed"}}, "unknown-action"),
        ("subject", {"action": {"name": 'Acme::Action::"reed"'}}, "unknown-action"),
        ("subject", {"subject": {"type": "Limen::Team"}}, "action-does-not-apply"),
        ("subject", {"action": {"name": "administer"}}, "action-does-not-apply"),
        ("subject", {"resource": {"type": "Acme::File"}}, "invalid-decision-request"),
        ("subject", {"action": None}, "invalid-decision-request"),
        ("subject", {"context": {}}, "organisation-required"),
        ("subject", {"page": {"limit": 0}}, "invalid-decision-request"),
        ("subject", {"page": {"limit": 10_000}}, "invalid-decision-request"),
        ("subject", {"page": {"limit": "5"}}, "validation-error"),
        ("subject", {"page": {"size": 5}}, "validation-error"),
        ("subject", {"page": {"token": "!!not-base64!!"}}, "invalid-page-token"),
        ("subject", {"page": {"token": _token("resource", "x")}}, "invalid-page-token"),
        ("subject", {"page": {"token": "x" * 3000}}, "validation-error"),
        ("subject", {"subject": "ana"}, "validation-error"),
        ("resource", {"subject": {"type": USER}}, "invalid-decision-request"),
        ("action", {"resource": {"type": "Acme::File"}}, "invalid-decision-request"),
    ],
)
def test_bad_searches_are_clear_400s(server, service, org, kind, change, slug):
    made = org()
    body = {
        "subject": {"type": USER, "id": made["ana"].email},
        "action": {"name": "read"},
        "resource": REPORT if kind != "resource" else {"type": "Acme::File"},
        "context": {"org": made["id"]},
        **change,
    }
    if kind == "subject" and "subject" not in change:
        body["subject"] = {"type": USER}
    body = {k: v for k, v in body.items() if v is not None}
    answer = search(server.url, service, kind, body)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == f"urn:limen:problem:{slug}"


@pytest.mark.parametrize("kind", ["subject", "resource", "action"])
def test_search_doors_refuse_strangers(server, org, kind, api: Api):
    made = org()
    anonymous = search(server.url, {}, kind, subject_body(made["id"]))
    assert anonymous.status_code == 401
    not_json = httpx.post(
        f"{server.url}/access/v1/search/{kind}",
        content="subject=x",
        headers={**bearer(api, made["ana"]), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert not_json.status_code == 415


def bearer(api: Api, account) -> dict[str, str]:
    return api.bearer(api.login(account)["access_token"])


def test_people_ask_only_about_their_organisations(server, service, org, api: Api):
    made = org()
    ana = bearer(api, made["ana"])
    stranger = bearer(api, api.register())  # an analyst, but no member of the organisation
    body = subject_body(made["id"])
    assert search(server.url, ana, "subject", body).status_code == 200
    refused = search(server.url, stranger, "subject", body)
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:limen:problem:forbidden"
    # The same answer whether or not the organisation exists: no way to probe for names.
    ghost = search(server.url, stranger, "subject", subject_body("no-such-org"))
    assert ghost.status_code == 403 and ghost.json()["detail"].endswith("is not one of them.")
    evaluation = {
        "subject": {"type": USER, "id": made["ana"].email},
        "action": {"name": "read"},
        "resource": REPORT,
        "context": {"org": made["id"]},
    }
    url = f"{server.url}/access/v1/evaluation"
    assert httpx.post(url, json=evaluation, headers=stranger).status_code == 403
    assert httpx.post(url, json=evaluation, headers=ana).json() == {"decision": True}
    assert httpx.post(url, json=evaluation, headers=service).json() == {"decision": True}
