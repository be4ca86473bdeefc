"""Fixtures for authorization: an admin (who creates organisations), people, a service
client with the ``authz:evaluate`` scope, and an organisation with a worked example."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support.factories import Api, bearer_for, create_user
from tests.support.live import LiveServer

SCHEMA: dict[str, Any] = {
    "Acme": {
        "entityTypes": {
            "Project": {
                "memberOfTypes": ["Limen::Organisation"],
                "shape": {
                    "type": "Record",
                    "attributes": {"classification": {"type": "String"}},
                },
            },
            "File": {
                "memberOfTypes": ["Project"],
                "shape": {"type": "Record", "attributes": {"owner": {"type": "String"}}},
            },
        },
        "actions": {
            "read": {
                "appliesTo": {
                    "principalTypes": ["Limen::User"],
                    "resourceTypes": ["Project", "File"],
                }
            },
            "write": {
                "appliesTo": {
                    "principalTypes": ["Limen::User"],
                    "resourceTypes": ["Project", "File"],
                }
            },
        },
    }
}


def policies(org_id: str, *extra: str) -> str:
    """The worked example: admins administer, a template grants a team read on a project,
    nobody touches a secret project."""
    return "\n".join(
        [
            '@id("org-admins")',
            'permit (principal in Limen::Team::"admins", action == Limen::Action::"administer",'
            f' resource == Limen::Organisation::"{org_id}");',
            '@id("team-read")',
            'permit (principal in ?principal, action == Acme::Action::"read", '
            "resource in ?resource);",
            '@id("no-secrets")',
            "forbid (principal, action, resource is Acme::Project)",
            '  when { resource.classification == "secret" };',
            *extra,
        ]
    )


def project(pid: str, org_id: str, classification: str = "internal") -> dict[str, Any]:
    return {
        "uid": {"type": "Acme::Project", "id": pid},
        "attrs": {"classification": classification},
        "parents": [{"type": "Limen::Organisation", "id": org_id}],
    }


def file(fid: str, pid: str) -> dict[str, Any]:
    return {
        "uid": {"type": "Acme::File", "id": fid},
        "attrs": {"owner": "nobody"},
        "parents": [{"type": "Acme::Project", "id": pid}],
    }


def team_read(link_id: str, team: str, pid: str) -> dict[str, Any]:
    return {
        "id": link_id,
        "template": "team-read",
        "principal": {"type": "Limen::Team", "id": team},
        "resource": {"type": "Acme::Project", "id": pid},
    }


@pytest.fixture(scope="session")
def admin_email(deployment: tuple[LiveServer, LiveServer]) -> str:
    return create_user(deployment[0], "admin")


@pytest.fixture(scope="session")
def admin(deployment: tuple[LiveServer, LiveServer], admin_email: str) -> dict[str, str]:
    return bearer_for(deployment[0], admin_email)


@pytest.fixture(scope="session")
def service(deployment: tuple[LiveServer, LiveServer], admin) -> dict[str, str]:
    """A team's service: a client-credentials token with the authz:evaluate scope."""
    node = deployment[0]
    body = {
        "name": f"svc-{secrets.token_hex(3)}",
        "grant_types": ["client_credentials"],
        "scopes": ["authz:evaluate"],
    }
    client = httpx.post(f"{node.url}/api/v1/clients", json=body, headers=admin).json()
    token = httpx.post(
        f"{node.url}/oauth/token",
        data={"grant_type": "client_credentials", "scope": "authz:evaluate"},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


@pytest.fixture
def org(api: Api, admin) -> Callable[..., dict[str, Any]]:
    """A fresh organisation with the worked example: ana in team data, which may read the
    analytics project; a secret project; the admin in team admins."""

    def make() -> dict[str, Any]:
        org_id = f"acme-{secrets.token_hex(4)}"
        http = api.http
        created = http.post("/api/v1/orgs", json={"id": org_id, "name": "Acme"}, headers=admin)
        assert created.status_code == 201, created.text
        ana = api.register()
        assert (
            http.put(
                f"/api/v1/orgs/{org_id}/members/{ana.email}",
                json={"teams": ["data"]},
                headers=admin,
            ).status_code
            == 200
        )
        document = {"schema": SCHEMA, "policies": policies(org_id), "links": []}
        saved = http.put(f"/api/v1/orgs/{org_id}/policies", json=document, headers=admin)
        assert saved.status_code == 201, saved.text
        entities = [
            project("analytics", org_id),
            project("vault", org_id, "secret"),
            file("report.csv", "analytics"),
            file("keys.txt", "vault"),
        ]
        put = http.put(
            f"/api/v1/orgs/{org_id}/entities", json={"entities": entities}, headers=admin
        )
        assert put.status_code == 200, put.text
        links = [team_read("data-analytics", "data", "analytics")]
        linked = http.put(
            f"/api/v1/orgs/{org_id}/policies", json={**document, "links": links}, headers=admin
        )
        assert linked.status_code == 201, linked.text
        return {"id": org_id, "ana": ana, "document": {**document, "links": links}}

    return make
