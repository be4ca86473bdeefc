"""Every portal door a person clicks, walked in Chromium, asserting where it ends: the
signed-out token refused, the revoked session dead, the role row, the client secret that
works (or no longer does), two-step verification off."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.support.db import execute, scalar
from tests.support.factories import PASSWORD, Api, bearer_for, create_user
from tests.support.mfa import enroll, next_code
from webapp import create_app
from webapp.extensions import db, identity

from .conftest import sign_in


def me(node: Any, token: str) -> httpx.Response:
    return httpx.get(f"{node.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def api_login(node: Any, email: str) -> httpx.Response:
    return httpx.post(f"{node.url}/auth/login", json={"email": email, "password": PASSWORD})


def page_token(page: Page) -> str:
    """The access token the browser holds in its HttpOnly cookie."""
    return next(c["value"] for c in page.context.cookies() if c["name"].endswith("limen_at"))


def client_token(node: Any, client_id: str, secret: str) -> httpx.Response:
    return httpx.post(
        f"{node.url}/oauth/token",
        data={"grant_type": "client_credentials", "scope": "profile"},
        auth=(client_id, secret),
    )


def test_sign_out_ends_the_session_everywhere(portal, new_page):
    page = new_page()
    sign_in(page, portal, create_user(portal))
    token = page_token(page)
    assert me(portal, token).status_code == 200

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    refused = me(portal, token)
    assert refused.status_code == 401 and refused.json()["cause"] == "revoked_session"


def test_revoke_one_other_session_then_all_others(portal, new_page):
    email = create_user(portal)
    logins = [api_login(portal, email).json() for _ in range(3)]
    first, second, third = (login["access_token"] for login in logins)
    page = new_page()
    sign_in(page, portal, email)
    others = page.locator("#sessions tbody tr").filter(has=page.get_by_role("button"))
    expect(others).to_have_count(4)  # three API sessions and this one
    ordered = [me(portal, t).status_code for t in (first, second, third)]
    assert ordered == [200, 200, 200]

    first_sid = logins[0]["session_id"]
    page.on("dialog", lambda dialog: dialog.accept())  # each "End the session ...?" asks first
    page.locator(f'form[action$="/sessions/{first_sid}/revoke"] button').click()
    expect(page.get_by_role("status")).to_have_text("Session signed out.")
    assert [me(portal, t).status_code for t in (first, second, third)] == [401, 200, 200]

    page.get_by_role("button", name="Sign out everywhere else").click()
    expect(page.get_by_role("status")).to_have_text("Signed out 2 other sessions.")
    assert [me(portal, t).status_code for t in (second, third)] == [401, 401]
    assert me(portal, page_token(page)).status_code == 200  # this browser stays signed in


def test_turn_off_two_step_verification(portal, new_page):
    with Api(portal.url) as api:
        account = api.register()
    totp, recovery = enroll(portal, account)
    page = new_page()
    page.goto(f"{portal.url}/login?next=/mfa")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_label("Code").fill(next_code(totp))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{portal.url}/mfa")

    page.get_by_label("Current code (to turn it off)").fill("aaaa-bbbb-cccc-dddd")
    page.get_by_role("button", name="Turn off").click()
    expect(page.get_by_role("alert")).to_be_visible()  # a wrong code: it stays on
    # The current time step's code is spent by the sign-in; a recovery code also proves it.
    page.get_by_label("Current code (to turn it off)").fill(recovery[0])
    page.get_by_role("button", name="Turn off").click()
    expect(page.get_by_role("button", name="Set up")).to_be_visible()

    url = portal.env["LIMEN_DATABASE_URL"]
    assert (
        scalar(url, "SELECT totp_secret_encrypted FROM users WHERE id = :i", i=account.id) is None
    )
    assert api_login(portal, account.email).json()["access_token"]  # password alone again


def test_admin_changes_roles_locks_unlocks_disables_enables(portal, new_page):
    target = create_user(portal)
    admin = new_page()
    sign_in(admin, portal, create_user(portal, "admin"))
    admin.goto(f"{portal.url}/admin/users?q={target}")
    expect(admin.locator("#users tbody tr")).to_have_count(1)
    row = admin.locator("#users tbody tr")
    url = portal.env["LIMEN_DATABASE_URL"]
    roles = (
        "SELECT count(*) FROM user_roles ur JOIN roles r ON r.id = ur.role_id "
        "JOIN users u ON u.id = ur.user_id WHERE u.email = :e AND r.name = 'admin'"
    )

    row.get_by_role("checkbox", name="admin").check()
    admin.get_by_role("button", name=f"Save roles for {target}").click()
    expect(admin.get_by_role("status")).to_have_text(
        f"Roles changed for {target}. Their sessions were ended, so the change holds at once."
    )
    assert scalar(url, roles, e=target) == 1

    admin.on("dialog", lambda dialog: dialog.accept())  # Lock and Disable ask first
    for action, done, login_status in [
        ("Lock", "Locked", 423),
        ("Unlock", "Unlocked", 200),
        ("Disable", "Disabled", 403),
        ("Enable", "Enabled", 200),
    ]:
        admin.get_by_role("button", name=f"{action} {target}").click()
        expect(admin.get_by_role("status")).to_have_text(f"{done} {target}.")
        assert api_login(portal, target).status_code == login_status, action


def test_admin_registers_rotates_and_deletes_a_client(portal, new_page):
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "Delete ...? Its tokens stop working"
    sign_in(page, portal, create_user(portal, "admin"), next_path="/admin/clients")
    page.get_by_text("Register a client").click()
    page.get_by_label("Name").fill("reporting")
    page.get_by_role("checkbox", name="client_credentials").check()
    page.locator('input[name="scopes"][value="profile"]').check()
    page.get_by_role("button", name="Register").click()
    first = page.locator("#client-secret").inner_text()
    client_id = page.get_by_role("status").locator("code").first.inner_text()
    assert client_token(portal, client_id, first).status_code == 200

    row = page.locator("#clients tbody tr").filter(has_text=client_id)
    row.get_by_label("Old secret stays valid for").select_option("0")
    row.get_by_role("button", name="Rotate secret").click()
    expect(page.locator("#client-secret")).not_to_have_text(first)
    second = page.locator("#client-secret").inner_text()
    assert client_token(portal, client_id, first).status_code == 401  # no overlap chosen
    token = client_token(portal, client_id, second)
    assert token.status_code == 200

    page.locator("#clients tbody tr").filter(has_text=client_id).get_by_role(
        "button", name="Delete"
    ).click()
    expect(page.locator("#clients tbody tr").filter(has_text=client_id)).to_have_count(0)
    assert client_token(portal, client_id, second).json()["error"] == "invalid_client"
    assert me(portal, token.json()["access_token"]).status_code == 401


def test_collect_the_key_a_scheduled_rotation_made(portal, new_page, tmp_path):
    email = create_user(portal)
    owner = bearer_for(portal, email)
    body = {"name": "nightly", "scopes": ["profile"], "expires_in_days": 3}
    created = httpx.post(f"{portal.url}/api/v1/api-keys", json=body, headers=owner).json()
    policy = {"rotate_before_days": 7, "grace_seconds": 3600}
    path = f"{portal.url}/api/v1/api-keys/{created['id']}/rotation-policy"
    assert httpx.put(path, json=policy, headers=owner).status_code == 200
    rotated = run_credential_rotation(portal, tmp_path)
    successor = dict(rotated)[created["id"]]

    page = new_page()
    sign_in(page, portal, email, next_path="/keys")
    page.get_by_role("button", name="Collect new key").click()
    secret = page.locator("#new-key").inner_text()
    assert secret.startswith("limen_")
    assert httpx.get(f"{portal.url}/api/v1/me", headers={"X-API-Key": secret}).status_code == 200
    page.reload()  # collected once: the secret is gone from the server
    expect(page.get_by_role("button", name="Collect new key")).to_have_count(0)
    again = httpx.post(f"{portal.url}/api/v1/api-keys/{successor}/collect", headers=owner)
    assert again.status_code == 404


def test_admin_retries_a_failed_job_run(portal, new_page):
    url = portal.env["LIMEN_DATABASE_URL"]
    failed = f"failed-{secrets.token_hex(6)}"
    execute(
        url,
        "INSERT INTO job_runs (id, job, trigger, status, attempts, enqueued_at, params, summary,"
        " error) VALUES (:id, 'credentials.maintain', 'schedule', 'failed', 3, :now, '{}', '{}',"
        " 'boom')",
        id=failed,
        now=datetime.now(UTC).replace(tzinfo=None),
    )
    admin_email = create_user(portal, "admin")
    page = new_page()
    sign_in(page, portal, admin_email, next_path="/admin/jobs")
    page.locator("#jobs tbody tr").filter(has_text="boom").get_by_role(
        "button", name="Retry"
    ).click()
    expect(page.get_by_role("status")).to_have_text("Queued again.")
    retry = "SELECT count(*) FROM job_runs WHERE job = 'credentials.maintain' AND trigger = 'retry'"
    assert scalar(url, retry) == 1


def run_credential_rotation(node: Any, tmp_path: Any) -> list[tuple[str, str]]:
    """What the credentials.maintain job does, run in process against the node's database
    and Redis (the service the job calls, without a worker to drain the shared queue)."""
    settings = {
        key[len("LIMEN_") :].lower(): value
        for key, value in node.env.items()
        if key.startswith("LIMEN_")
    }
    app = create_app({**settings, "instance_path": tmp_path, "log_level": "WARNING"})
    try:
        with app.app_context():
            rotation, rotated = identity().credential_rotation, []
            for key_id in rotation.due_api_keys():
                pair = rotation.rotate_api_key(key_id)
                db.session.commit()  # one unit of work per key, as the job commits them
                if pair is not None:
                    rotated.append(pair)
            return rotated
    finally:
        with app.app_context():
            db.engine.dispose()
        app.extensions["limen.redis"].close()
