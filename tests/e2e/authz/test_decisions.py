"""AuthZEN 1.0 decisions over HTTP: a team's service asks with a client-credentials token."""

from __future__ import annotations

import httpx
import pytest

from tests.support.db import query, scalar
from tests.support.factories import Api

READ = {"name": "read"}


def ask(node_url: str, headers, org_id: str, subject: str, action: str, resource, **extra):
    body = {
        "subject": {"type": "Limen::User", "id": subject},
        "action": {"name": action},
        "resource": {"type": resource[0], "id": resource[1]},
        "context": {"org": org_id},
        **extra,
    }
    return httpx.post(f"{node_url}/access/v1/evaluation", json=body, headers=headers)


def test_discovery_names_every_endpoint(server):
    meta = httpx.get(f"{server.url}/.well-known/authzen-configuration")
    assert meta.status_code == 200
    assert meta.json() == {
        "policy_decision_point": server.url,
        "access_evaluation_endpoint": f"{server.url}/access/v1/evaluation",
        "access_evaluations_endpoint": f"{server.url}/access/v1/evaluations",
        "search_subject_endpoint": f"{server.url}/access/v1/search/subject",
        "search_resource_endpoint": f"{server.url}/access/v1/search/resource",
        "search_action_endpoint": f"{server.url}/access/v1/search/action",
    }


@pytest.mark.parametrize(
    ("action", "resource", "allowed"),
    [
        ("read", ("Acme::File", "report.csv"), True),  # via team data -> project analytics
        ("read", ("Acme::Project", "analytics"), True),
        ("write", ("Acme::File", "report.csv"), False),  # nothing permits writing
        ("read", ("Acme::File", "keys.txt"), False),  # another project
        ("read", ("Acme::Project", "vault"), False),  # secret: forbidden
    ],
)
def test_the_policies_decide(server, service, org, action, resource, allowed):
    made = org()
    answer = ask(server.url, service, made["id"], made["ana"].email, action, resource)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"decision": allowed}


def test_explain_names_the_policies_that_decided(server, service, org):
    made = org()
    email = made["ana"].email
    url = server.env["LIMEN_DATABASE_URL"]
    audited = "SELECT count(*) FROM audit_events WHERE event = 'authz.decision'"
    before = scalar(url, audited)
    ask(server.url, service, made["id"], email, "read", ("Acme::File", "report.csv"))
    assert scalar(url, audited) == before  # plain decisions go to the decision log only
    options = {"options": {"explain": True}}
    permit = ask(
        server.url, service, made["id"], email, "read", ("Acme::File", "report.csv"), **options
    )
    assert permit.json()["context"]["policies"] == [
        {"policy": "data-analytics", "effect": "permit", "id": "team-read"}
    ]
    # The secret project: the forbid is what decided.
    forbid = ask(
        server.url, service, made["id"], email, "read", ("Acme::Project", "vault"), **options
    )
    assert forbid.json()["decision"] is False
    assert forbid.json()["context"]["policies"] == [
        {"policy": "policy2", "effect": "forbid", "id": "no-secrets"}
    ]
    assert scalar(url, audited) == before + 2  # explained decisions are audited too
    outcomes = "SELECT outcome FROM audit_events WHERE event = 'authz.decision' ORDER BY id DESC"
    assert [row[0] for row in query(url, outcomes)][:2] == ["deny", "allow"]


@pytest.mark.parametrize(
    ("change", "status", "slug"),
    [
        ({"subject": {"type": "Limen::Usr", "id": "x"}}, 400, "unknown-entity-type"),
        ({"resource": {"type": "Acme::Fil", "id": "x"}}, 400, "unknown-entity-type"),
        ({"action": {"name": "reed"}}, 400, "unknown-action"),
        ({"action": {"name": 'Acme::Action::"reed"'}}, 400, "unknown-action"),
        ({"context": {}}, 400, "organisation-required"),
        ({"context": {"org": "no-such-org"}}, 404, "not-found"),
        ({"context": {"org": "x", "n": 1}}, 404, "not-found"),
        ({"subject": "ana"}, 400, "validation-error"),
    ],
)
def test_a_typo_is_a_clear_400_never_a_silent_deny(server, service, org, change, status, slug):
    made = org()
    body = {
        "subject": {"type": "Limen::User", "id": made["ana"].email},
        "action": {"name": "read"},
        "resource": {"type": "Acme::File", "id": "report.csv"},
        "context": {"org": made["id"]},
        **change,
    }
    answer = httpx.post(f"{server.url}/access/v1/evaluation", json=body, headers=service)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == f"urn:limen:problem:{slug}"


def test_a_context_the_action_does_not_declare_is_a_400(server, service, org):
    made = org()
    answer = ask(
        server.url,
        service,
        made["id"],
        made["ana"].email,
        "read",
        ("Acme::File", "report.csv"),
        context={"org": made["id"], "ip": "10.0.0.1"},
    )
    assert answer.status_code == 400 and "ip" in answer.json()["detail"]


def test_batch_with_defaults_and_semantics(server, service, org):
    made = org()
    body = {
        "subject": {"type": "Limen::User", "id": made["ana"].email},
        "action": READ,
        "context": {"org": made["id"]},
        "evaluations": [
            {"resource": {"type": "Acme::File", "id": "report.csv"}},
            {"resource": {"type": "Acme::Project", "id": "vault"}},
            {"resource": {"type": "Acme::Nope", "id": "x"}},
            {"resource": {"type": "Acme::File", "id": "report.csv"}, "action": {"name": "write"}},
        ],
    }
    url = f"{server.url}/access/v1/evaluations"
    every = httpx.post(url, json=body, headers=service).json()["evaluations"]
    assert [e["decision"] for e in every] == [True, False, False, False]
    assert every[2]["context"]["code"] == 400 and "Acme::Nope" in every[2]["context"]["reason"]
    first_deny = httpx.post(
        url,
        json={**body, "options": {"evaluations_semantic": "deny_on_first_deny"}},
        headers=service,
    ).json()["evaluations"]
    assert [e["decision"] for e in first_deny] == [True, False]
    bad = httpx.post(url, json={**body, "options": {"evaluations_semantic": "x"}}, headers=service)
    assert bad.status_code == 400


def test_the_decision_api_needs_the_evaluate_scope(server, org, api: Api):
    made = org()
    email = made["ana"].email
    anonymous = ask(server.url, {}, made["id"], email, "read", ("Acme::File", "x"))
    assert anonymous.status_code == 401
    token = api.login(made["ana"])["access_token"]
    key = api.http.post(
        "/api/v1/api-keys", json={"name": "k", "scopes": ["profile"]}, headers=api.bearer(token)
    )
    narrow = {"Authorization": f"Bearer {key.json()['key']}"}
    refused = ask(server.url, narrow, made["id"], email, "read", ("Acme::File", "x"))
    assert refused.status_code == 403
    assert refused.json()["required_permission"] == "authz:evaluate"
    # An analyst's own session holds it (limen authz check).
    mine = ask(
        server.url, api.bearer(token), made["id"], email, "read", ("Acme::File", "report.csv")
    )
    assert mine.json() == {"decision": True}


def test_a_policy_change_is_enforced_on_every_node_when_the_call_returns(
    deployment, service, admin, org
):
    first, second = deployment
    made = org()
    resource = ("Acme::File", "keys.txt")
    email = made["ana"].email
    assert ask(second.url, service, made["id"], email, "read", resource).json()["decision"] is False
    document = made["document"]
    document = {
        **document,
        "links": [
            *document["links"],
            {
                "id": "data-vault-files",
                "template": "team-read",
                "principal": {"type": "Limen::Team", "id": "data"},
                "resource": {"type": "Acme::File", "id": "keys.txt"},
            },
        ],
    }
    saved = httpx.put(
        f"{first.url}/api/v1/orgs/{made['id']}/policies", json=document, headers=admin
    )
    assert saved.status_code == 201, saved.text
    # The very next decision on the other node uses the new set (no waiting, no retry).
    assert ask(second.url, service, made["id"], email, "read", resource).json()["decision"] is True
    rolled = httpx.post(
        f"{first.url}/api/v1/orgs/{made['id']}/policies/rollback",
        json={"version": saved.json()["version"] - 1},
        headers=admin,
    )
    assert rolled.status_code == 201, rolled.text
    assert ask(second.url, service, made["id"], email, "read", resource).json()["decision"] is False


def test_membership_changes_decide_at_once(deployment, service, admin, org):
    first, second = deployment
    made = org()
    email = made["ana"].email
    resource = ("Acme::File", "report.csv")
    assert ask(second.url, service, made["id"], email, "read", resource).json()["decision"] is True
    moved = httpx.put(
        f"{first.url}/api/v1/orgs/{made['id']}/members/{email}", json={"teams": []}, headers=admin
    )
    assert moved.status_code == 200
    assert ask(second.url, service, made["id"], email, "read", resource).json()["decision"] is False
