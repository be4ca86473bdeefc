"""An admin writes policies in the portal, in Chromium: Cedar's errors appear in place with
line and column and nothing is saved; the fixed version is saved and decides at once."""

from __future__ import annotations

import json
import re
import secrets

import httpx
from playwright.sync_api import expect

from tests.e2e.authz.conftest import SCHEMA, file, policies, project, team_read
from tests.support.factories import Api, bearer_for, create_user

from .conftest import sign_in


def test_an_admin_writes_policies_in_the_portal(portal, new_page):
    admin_email = create_user(portal, "admin")
    admin = bearer_for(portal, admin_email)
    org_id = f"web-{secrets.token_hex(3)}"
    url = f"{portal.url}/api/v1/orgs"
    with Api(portal.url) as api:
        ana = api.register()
    assert httpx.post(url, json={"id": org_id, "name": "Web Org"}, headers=admin).is_success
    assert httpx.put(
        f"{url}/{org_id}/members/{ana.email}", json={"teams": ["data"]}, headers=admin
    ).is_success
    document = {"schema": SCHEMA, "policies": policies(org_id), "links": []}
    assert httpx.put(f"{url}/{org_id}/policies", json=document, headers=admin).is_success
    entities = [project("analytics", org_id), file("report.csv", "analytics")]
    assert httpx.put(
        f"{url}/{org_id}/entities", json={"entities": entities}, headers=admin
    ).is_success

    page = new_page()
    sign_in(page, portal, admin_email)
    page.get_by_role("link", name="Policies").click()
    page.get_by_role("link", name=org_id).click()
    expect(page.get_by_role("heading", name="Policies of Web Org")).to_be_visible()

    def check() -> None:
        page.get_by_label("Person (email) or entity").fill(ana.email)
        page.get_by_label("Action").fill("read")
        page.get_by_label('Resource (Type::"id")').fill('Acme::File::"report.csv"')
        page.get_by_role("button", name="Check").click()

    check()
    expect(page.locator("#decision")).to_have_text("Denied: no policy permits it.")

    broken = policies(org_id) + "\npermit (principal, action, resource) when { resource.nope };"
    page.get_by_label("Policies (Cedar)").fill(broken)
    links = [team_read("data-analytics", "data", "analytics")]
    page.get_by_label("Template links (JSON)").fill(json.dumps(links))
    page.get_by_role("button", name="Save policies").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("nothing was saved")
    expect(alert).to_contain_text(f"line {broken.count(chr(10)) + 1}, column 1")
    expect(alert).to_contain_text("nope")
    expect(page.get_by_label("Policies (Cedar)")).to_have_value(broken)  # the text is kept
    admin = bearer_for(portal, admin_email)  # this node's access tokens live 10 s
    in_force = httpx.get(f"{url}/{org_id}/policies", headers=admin).json()
    assert in_force["version"] == 2 and in_force["links"] == []

    page.get_by_label("Policies (Cedar)").fill(policies(org_id))
    page.get_by_label("Note").fill("data reads analytics")
    page.get_by_role("button", name="Save policies").click()
    expect(page.get_by_role("status")).to_have_text("Saved version 3.")
    expect(page.locator("#history tbody tr").first).to_contain_text("data reads analytics")
    check()
    expect(page.locator("#decision")).to_have_text(re.compile(r"Allowed by permit team-read"))
    answer = httpx.post(
        f"{portal.url}/access/v1/evaluation",
        json={
            "subject": {"type": "Limen::User", "id": ana.email},
            "action": {"name": "read"},
            "resource": {"type": "Acme::File", "id": "report.csv"},
            "context": {"org": org_id},
        },
        headers=bearer_for(portal, admin_email),
    )
    assert answer.json() == {"decision": True}


def test_analysts_get_no_policy_pages(portal, new_page):
    page = new_page()
    sign_in(page, portal, create_user(portal))
    expect(page.get_by_role("link", name="Policies")).to_have_count(0)
    response = page.goto(f"{portal.url}/admin/orgs")
    assert response is not None and response.status == 403
