"""The per-request floor, through a real server: what left the hot path still happens where
it moved to — log lines reach the log (at exit too, and never an error sampled away), limits
still hold on the endpoints that carry them, headers and the session cookie behave as before."""

from __future__ import annotations

import json
import secrets
import time

import httpx

from tests.support.factories import unique_email


def request_lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        if '"request"' in line:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == "request":
                out.append(entry)
    return out


def test_buffered_log_lines_are_written_at_exit(make_database, start_server):
    """A long flush interval: the lines still queued when the server stops are written."""
    node = start_server(make_database("sqlite"), LIMEN_LOG_FLUSH_SECONDS="10")
    ids = [f"exit-{secrets.token_hex(6)}" for _ in range(5)]
    for rid in ids:
        assert httpx.get(f"{node.url}/healthz", headers={"X-Request-ID": rid}).status_code == 200
    node.stop()
    logged = {e["request_id"]: e for e in request_lines(node.log_text())}
    assert set(ids) <= set(logged)
    first = logged[ids[0]]
    assert first["status"] == 200 and first["route"] == "/healthz" and first["outcome"] == "ok"
    assert first["timestamp"].endswith("Z") and first["level"] == "info"


def test_sampling_drops_successes_never_errors(make_database, start_server):
    node = start_server(
        make_database("sqlite"), LIMEN_LOG_SUCCESS_SAMPLE="0", LIMEN_LOG_FLUSH_SECONDS="0.1"
    )
    ok_ids = [f"ok-{secrets.token_hex(6)}" for _ in range(20)]
    for rid in ok_ids:
        assert httpx.get(f"{node.url}/healthz", headers={"X-Request-ID": rid}).status_code == 200
    bad = {
        f"e404-{secrets.token_hex(6)}": ("GET", "/no-such-page", 404),
        f"e401-{secrets.token_hex(6)}": ("GET", "/api/v1/me", 401),
        f"e400-{secrets.token_hex(6)}": ("POST", "/auth/login", 400),
    }
    for rid, (method, path, status) in bad.items():
        answer = httpx.request(method, node.url + path, headers={"X-Request-ID": rid}, json=[])
        assert answer.status_code == status, (path, answer.text)
    node.stop()
    logged = {e["request_id"]: e["status"] for e in request_lines(node.log_text())}
    assert not set(ok_ids) & set(logged)
    assert {rid: logged.get(rid) for rid in bad} == {rid: s for rid, (_, _, s) in bad.items()}


def test_request_ids_are_fresh_and_an_incoming_one_is_kept(server):
    ids = {httpx.get(f"{server.url}/healthz").headers["X-Request-ID"] for _ in range(20)}
    assert len(ids) == 20
    assert all(0 < len(i) <= 64 for i in ids)
    kept = httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": "caller-id-1"})
    assert kept.headers["X-Request-ID"] == "caller-id-1"
    odd = httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": "not an id; <script>"})
    assert odd.headers["X-Request-ID"] != "not an id; <script>"


def test_limits_hold_where_declared_and_nowhere_else(make_database, start_server):
    node = start_server(make_database("sqlite"), LIMEN_RATELIMIT_LOGIN="3/minute")
    codes = [
        httpx.post(
            f"{node.url}/auth/login", json={"email": unique_email(), "password": "wrong pw!"}
        ).status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    # /healthz and the API carry no limit: far past the sign-in budget, never a 429.
    assert {httpx.get(f"{node.url}/healthz").status_code for _ in range(30)} == {200}
    assert {httpx.get(f"{node.url}/api/v1/me").status_code for _ in range(10)} == {401}


def test_security_headers_on_every_kind_of_response(server):
    for answer in (
        httpx.get(f"{server.url}/healthz"),
        httpx.get(f"{server.url}/api/v1/me"),
        httpx.get(f"{server.url}/no-such-page"),
        httpx.get(f"{server.url}/login"),
    ):
        h = answer.headers
        assert h["Content-Security-Policy"].startswith("default-src 'self'")
        assert "form-action 'self'" in h["Content-Security-Policy"]
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["X-Frame-Options"] == "DENY"
        assert h["Referrer-Policy"] == "no-referrer"
        assert len(h.get_list("Content-Security-Policy")) == 1


def test_bearer_requests_get_no_session_cookie(server):
    answer = httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": "Bearer x.y.z"})
    assert answer.status_code == 401
    assert "set-cookie" not in answer.headers
    assert httpx.get(f"{server.url}/healthz").headers.get("set-cookie") is None


def test_a_forged_session_cookie_is_ignored_not_trusted(server):
    """The lazy session still verifies a cookie that is present: a forged one is an empty
    session (a sign-in page, not a signed-in one), never a 500."""
    cookies = {"limen_session": "eyJuZXh0IjoiL2FkbWluIn0.forged.signature"}
    answer = httpx.get(f"{server.url}/login", cookies=cookies)
    assert answer.status_code == 200
    assert 'name="email"' in answer.text


def test_a_flood_past_the_address_limit_is_refused_early_as_the_limiter_would(
    make_database, start_server
):
    """Past the per-address sign-in limit, the same 429 (problem+json, Retry-After) comes back
    without reaching Flask (its log line says so); other paths and other accounts are still
    decided as before; after the window, sign-in works again."""
    node = start_server(
        make_database("sqlite"),
        LIMEN_RATELIMIT_LOGIN="3 per 12 seconds",
        LIMEN_LOG_FLUSH_SECONDS="0.1",
    )

    def login(rid: str, email: str | None = None) -> httpx.Response:
        body = {"email": email or unique_email(), "password": "wrong pw!"}
        return httpx.post(f"{node.url}/auth/login", json=body, headers={"X-Request-ID": rid})

    assert [login(f"pre-{i}").status_code for i in range(3)] == [401] * 3
    first = login("breach")  # the limiter's own refusal: the gate learns from it
    assert first.status_code == 429
    flood = [login(f"flood-{i}") for i in range(10)]
    assert [r.status_code for r in flood] == [429] * 10, [r.status_code for r in flood]
    for answer in flood:
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert answer.json()["type"] == first.json()["type"]
        assert 1 <= int(answer.headers["Retry-After"]) <= 12
        assert "set-cookie" not in answer.headers
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert httpx.get(f"{node.url}/healthz").status_code == 200  # other paths: untouched
    # Retry-After is whole seconds, cut down as the limiter's own is: up to a second short
    time.sleep(int(flood[-1].headers["Retry-After"]) + 1.5)
    assert login("after").status_code == 401  # the window ended: the limiter decides again
    time.sleep(0.5)
    lines = {e["request_id"]: e for e in request_lines(node.log_text())}
    assert lines["breach"]["status"] == 429 and "refused_early" not in lines["breach"]
    assert all(lines[f"flood-{i}"]["refused_early"] is True for i in range(10))
    assert all(lines[f"flood-{i}"]["status"] == 429 for i in range(10))
    assert lines["after"]["status"] == 401


def test_an_account_limit_never_closes_the_gate_for_the_address(make_database, start_server):
    node = start_server(
        make_database("sqlite"),
        LIMEN_RATELIMIT_LOGIN_ACCOUNT="2/minute",
        LIMEN_LOCKOUT_THRESHOLD="100",
    )
    email = unique_email()
    body = {"email": email, "password": "wrong pw!"}
    codes = [httpx.post(f"{node.url}/auth/login", json=body).status_code for _ in range(4)]
    assert codes == [401, 401, 429, 429]
    other = {"email": unique_email(), "password": "wrong pw!"}
    assert httpx.post(f"{node.url}/auth/login", json=other).status_code == 401
