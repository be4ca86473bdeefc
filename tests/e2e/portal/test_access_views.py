"""In Chromium, an admin asks "who can access this resource?" and reads the decision log:
the principals, their actions and the permitting policies; then the decisions with who asked.
Both pages fit a phone and their tables are keyboard-reachable scroll regions."""

from __future__ import annotations

import secrets

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.authz.conftest import SCHEMA, file, policies, project, team_read
from tests.support.factories import Api, bearer_for, create_user

from .conftest import sign_in


def _organisation(portal) -> tuple[str, str, str, str]:
    """An organisation where team data (ana) may read the analytics project; bob is in ops."""
    admin_email = create_user(portal, "admin")
    admin = bearer_for(portal, admin_email)
    org_id = f"who-{secrets.token_hex(3)}"
    url = f"{portal.url}/api/v1/orgs"
    with Api(portal.url) as api:
        ana, bob = api.register(), api.register()
    assert httpx.post(url, json={"id": org_id, "name": "Who Org"}, headers=admin).is_success
    for person, team in ((ana, "data"), (bob, "ops")):
        assert httpx.put(
            f"{url}/{org_id}/members/{person.email}", json={"teams": [team]}, headers=admin
        ).is_success
    document = {"schema": SCHEMA, "policies": policies(org_id), "links": []}
    assert httpx.put(f"{url}/{org_id}/policies", json=document, headers=admin).is_success
    entities = [project("analytics", org_id), file("report.csv", "analytics")]
    assert httpx.put(
        f"{url}/{org_id}/entities", json={"entities": entities}, headers=admin
    ).is_success
    links = [team_read("data-analytics", "data", "analytics")]
    saved = httpx.put(f"{url}/{org_id}/policies", json={**document, "links": links}, headers=admin)
    assert saved.is_success, saved.text
    return org_id, admin_email, ana.email.lower(), bob.email.lower()


def _fits_a_phone(page: Page, region_name: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    region = page.get_by_role("region", name=region_name)
    region.focus()  # the scroll region takes the keyboard (tabindex=0)
    expect(region).to_be_focused()
    page.set_viewport_size({"width": 1280, "height": 860})


def test_an_admin_sees_who_can_access_a_resource(portal, new_page, shots):
    org_id, admin_email, ana, bob = _organisation(portal)
    page = new_page()
    sign_in(page, portal, admin_email)
    page.goto(f"{portal.url}/admin/orgs/{org_id}/policies")
    page.get_by_role("link", name="Who can access a resource?").click()
    expect(page.get_by_role("heading", name="Who can access this resource?")).to_be_visible()

    page.get_by_label('Resource (Type::"id")').fill('Acme::File::"nope.csv"')
    page.get_by_role("button", name="Show who can access it").click()
    expect(page.get_by_role("alert")).to_contain_text("is not a registered resource")

    page.get_by_label('Resource (Type::"id")').fill('Acme::File::"report.csv"')
    page.get_by_role("button", name="Show who can access it").click()
    table = page.get_by_role("region", name='Access to Acme::File::"report.csv"')
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(1)  # ana only: bob's team is granted nothing, admins neither
    expect(rows.first).to_contain_text(f'Limen::User::"{ana}"')
    expect(rows.first).to_contain_text('Acme::Action::"read"')
    expect(rows.first).to_contain_text("team-read (data-analytics)")
    expect(table).not_to_contain_text(bob)
    _fits_a_phone(page, 'Access to Acme::File::"report.csv"')
    shots(page, "who-can-access")

    # The check on the policies page writes an explained decision: the decision log shows it.
    page.goto(f"{portal.url}/admin/orgs/{org_id}/policies")
    page.get_by_label("Person (email) or entity").fill(bob)
    page.get_by_label("Action").fill("read")
    page.get_by_label('Resource (Type::"id")').fill('Acme::File::"report.csv"')
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#decision")).to_have_text("Denied: no policy permits it.")
    page.get_by_role("link", name="Decision log").click()
    log = page.get_by_role("region", name="Decision log")
    newest = log.locator("tbody tr").first
    expect(newest).to_contain_text(org_id)
    expect(newest).to_contain_text(admin_email.lower())  # who asked
    expect(newest).to_contain_text(f'Limen::User::"{bob}"')
    expect(newest).to_contain_text("deny")
    _fits_a_phone(page, "Decision log")
    shots(page, "decision-log")


def test_the_decision_log_pages_and_names_the_permitting_policy(portal, new_page):
    org_id, admin_email, ana, _ = _organisation(portal)
    service = bearer_for(portal, admin_email)
    body = {
        "subject": {"type": "Limen::User", "id": ana},
        "action": {"name": "read"},
        "resource": {"type": "Acme::File", "id": "report.csv"},
        "context": {"org": org_id},
        "options": {"explain": True},
    }
    for _ in range(26):  # one more than a page
        answer = httpx.post(f"{portal.url}/access/v1/evaluation", json=body, headers=service)
        assert answer.json()["decision"] is True
    page = new_page()
    sign_in(page, portal, admin_email)
    page.goto(f"{portal.url}/admin/decisions")
    newest = page.get_by_role("region", name="Decision log").locator("tbody tr").first
    expect(newest).to_contain_text("allow")
    expect(newest).to_contain_text("team-read")
    page.get_by_role("link", name="Older →").click()
    expect(page.get_by_text("Page 2 of")).to_be_visible()


def test_people_without_admin_rights_get_neither_page(portal, new_page):
    org_id = _organisation(portal)[0]
    page = new_page()
    sign_in(page, portal, create_user(portal))
    for path in (f"/admin/orgs/{org_id}/access?resource=x", "/admin/decisions"):
        response = page.goto(f"{portal.url}{path}")
        assert response is not None and response.status == 403
