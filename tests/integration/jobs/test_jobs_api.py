"""/api/v1/jobs: admins see the schedule, runs, failures and retries, and can retry a failure."""

from __future__ import annotations

from typing import Any

import pytest

import webapp.api.jobs  # noqa: F401  (routes on the api blueprint, until webapp.api imports it)

from .conftest import JobsHarness


def bearer(h: JobsHarness, roles: tuple[str, ...], scopes: tuple[str, ...]) -> dict[str, str]:
    from webapp.identity import RequestMeta
    from webapp.identity.auth_context import AuthContext
    from webapp.identity.tokens import Grant

    user = h.user(f"{'-'.join(roles)}@example.com", roles)
    # Signed in just now: rotating keys is a step-up action (a recent sign-in, RFC 9470).
    signed_in = AuthContext.of_sign_in("password", int(h.identity.clock().timestamp()))
    grant = Grant(user.id, user.id, roles, scopes, "limen-portal", "password", signed_in)
    token = h.identity.tokens.start_session(grant, RequestMeta(ip="127.0.0.1")).access_token
    h.identity.db.commit()  # the test is the boundary of this unit of work
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin(harness: JobsHarness) -> dict[str, str]:
    with harness.app.app_context():
        return bearer(harness, ("admin",), ("jobs:read", "jobs:write", "signing-keys:write"))


def test_overview_shows_schedule_runs_and_failures(harness: JobsHarness, admin: Any) -> None:
    h = harness
    with h.app.app_context():
        h.jobs.enqueue("backchannel.deliver", trigger="event", params={"delivery_id": "missing"})
        h.jobs.enqueue("purge", trigger="manual")
    h.run_jobs()
    client = h.app.test_client()
    body = client.get("/api/v1/jobs", headers=admin).get_json()
    assert {e["job"] for e in body["schedule"]} == {
        "keys.maintain",
        "credentials.maintain",
        "backchannel.sweep",
        "purge",
        "api_keys.flush_usage",
        "mail.sweep",
    }
    statuses = {r["job"]: r["status"] for r in body["runs"]}
    assert statuses == {"backchannel.deliver": "succeeded", "purge": "succeeded"}
    assert body["queue"]["queued"] == 0
    assert body["signing_keys"] and body["settings"]["key_rotation_days"] == 30


def test_a_failed_run_is_kept_and_can_be_retried(make_harness: Any) -> None:
    h = make_harness(jobs={"job_retry_intervals": [0]})  # one immediate retry, then kept
    with h.app.app_context():
        admin = bearer(h, ("admin",), ("jobs:read", "jobs:write"))
        rt = h.jobs
        run_id = rt.enqueue("keys.revoke_signed", trigger="manual", params={"since": "bad"})
    h.run_jobs()
    client = h.app.test_client()
    run = client.get(f"/api/v1/jobs/runs/{run_id}", headers=admin).get_json()
    assert (run["status"], run["attempts"]) == ("failed", 2)
    assert "TypeError" in run["error"]  # 'until' and 'kids' are missing
    failures = client.get("/api/v1/jobs", headers=admin).get_json()["failures"]
    assert [f["id"] for f in failures] == [run_id]
    assert client.get("/api/v1/jobs", headers=admin).get_json()["queue"]["failed"] == 1

    retried = client.post(f"/api/v1/jobs/runs/{run_id}/retry", headers=admin)
    assert retried.status_code == 202
    again = client.post(f"/api/v1/jobs/runs/{retried.get_json()['run_id']}/retry", headers=admin)
    assert again.status_code == 409  # only failed runs; this one is queued


def test_start_a_job_and_rotate_keys(harness: JobsHarness, admin: Any) -> None:
    client = harness.app.test_client()
    assert client.post("/api/v1/jobs/purge/run", headers=admin).status_code == 202
    assert client.post("/api/v1/jobs/nope/run", headers=admin).status_code == 404
    rotated = client.post("/api/v1/jobs/rotate-keys", headers=admin, json={"now": False})
    assert rotated.status_code == 202 and rotated.get_json()["emergency"] is False
    assert harness.run_jobs() == 2


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/jobs"),
        ("post", "/api/v1/jobs/purge/run"),
        ("post", "/api/v1/jobs/rotate-keys"),
    ],
)
def test_analysts_cannot_see_or_start_jobs(harness: JobsHarness, method: str, path: str) -> None:
    with harness.app.app_context():
        headers = bearer(harness, ("analyst",), ("profile",))
    response = getattr(harness.app.test_client(), method)(path, headers=headers)
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("application/problem+json")
