"""Team membership follows the upstream provider's groups: a change there changes Limen's
decision on the person's next sign-in (a real OpenID Provider, a real Limen node)."""

from __future__ import annotations

import httpx

from tests.conftest import base_env
from tests.e2e.authz.conftest import SCHEMA, file, policies, project, team_read
from tests.e2e.upstream.test_oidc import op_clients
from tests.support.factories import bearer_for, create_user
from tests.support.live import LiveServer
from tests.support.oidc_op import OidcProvider, sign_in_upstream
from tests.support.services import free_port

ORG = "corp"


def dana(groups: list[str]) -> dict[str, dict]:
    return {"dana": {"email": "dana@corp.example", "email_verified": True, "groups": groups}}


def set_up_org(node: LiveServer) -> dict[str, str]:
    admin = bearer_for(node, create_user(node, "admin"))
    url = f"{node.url}/api/v1/orgs"
    assert httpx.post(url, json={"id": ORG, "name": "Corp"}, headers=admin).status_code == 201
    document = {
        "schema": SCHEMA,
        "policies": policies(ORG),
        "links": [team_read("data-analytics", "data", "analytics")],
    }
    saved = httpx.put(f"{url}/{ORG}/policies", json=document, headers=admin)
    assert saved.status_code == 201, saved.text
    entities = [project("analytics", ORG), file("report.csv", "analytics")]
    stored = httpx.put(f"{url}/{ORG}/entities", json={"entities": entities}, headers=admin)
    assert stored.status_code == 200
    return admin


def may_read(node: LiveServer, headers: dict[str, str]) -> bool:
    body = {
        "subject": {"type": "Limen::User", "id": "dana@corp.example"},
        "action": {"name": "read"},
        "resource": {"type": "Acme::File", "id": "report.csv"},
        "context": {"org": ORG},
    }
    answer = httpx.post(f"{node.url}/access/v1/evaluation", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["decision"])


def test_a_group_change_upstream_changes_the_decision_on_the_next_sign_in(
    redis_server, make_database
):
    port = free_port()
    op = OidcProvider(op_clients(port), dana(["data"]))
    op.start()
    env = base_env(
        redis_server.url,
        make_database("sqlite"),
        LIMEN_UPSTREAM_PROVIDERS="corp",
        LIMEN_UPSTREAM_CORP_ISSUER=op.url,
        LIMEN_UPSTREAM_CORP_CLIENT_ID="limen",
        LIMEN_UPSTREAM_CORP_CLIENT_SECRET="op-secret",
        LIMEN_UPSTREAM_CORP_SCOPES="openid email profile groups",
        LIMEN_UPSTREAM_CORP_TEAMS_ORG=ORG,
    )
    node = LiveServer(env, port=port)
    node.start()
    try:
        admin = set_up_org(node)
        assert may_read(node, admin) is False  # not a member until she signs in
        with httpx.Client() as browser:
            assert sign_in_upstream(browser, f"{node.url}/auth/login/corp", "dana").is_success
        assert may_read(node, admin) is True
        members = httpx.get(f"{node.url}/api/v1/orgs/{ORG}", headers=admin).json()["members"]
        assert {"email": "dana@corp.example", "teams": ["data"]} in members

        op.stop()  # the provider's administrator takes her out of the group
        op = OidcProvider(op_clients(port), dana([]), port=op.port)
        op.start()
        assert may_read(node, admin) is True  # nothing changes until she signs in again
        with httpx.Client() as browser:
            assert sign_in_upstream(browser, f"{node.url}/auth/login/corp", "dana").is_success
        assert may_read(node, admin) is False
    finally:
        node.stop()
        op.stop()
