"""Cross-cutting behaviour of every node: health, headers, OpenAPI, JWKS, logs, rate limits."""

from __future__ import annotations

import base64
import json
import time

import httpx

from tests.support.factories import PASSWORD, Api, unique_email
from tests.support.live import LiveServer


def test_health_and_readiness(server: LiveServer):
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_security_headers_and_request_id(server: LiveServer):
    response = httpx.get(f"{server.url}/api/v1/me", headers={"X-Request-ID": "trace-123"})
    h = response.headers
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "no-referrer"
    assert h["X-Request-ID"] == "trace-123"
    assert h["Limen-API-Version"] == "1"
    assert "Strict-Transport-Security" not in h  # http loopback issuer: no HSTS
    forged = "<script>" * 10
    echoed = httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": forged})
    assert echoed.headers["X-Request-ID"] != forged  # only safe ids are echoed


def test_auth_responses_are_not_cached_and_cookies_are_httponly(api: Api, server: LiveServer):
    response = api.http.post(
        "/auth/login", json={"email": api.register().email, "password": PASSWORD}
    )
    assert response.headers["Cache-Control"] == "no-store"
    cookies = response.headers.get_list("set-cookie")
    access = next(c for c in cookies if c.startswith("limen_at="))
    refresh = next(c for c in cookies if c.startswith("limen_rt="))
    assert "HttpOnly" in access and "SameSite=Lax" in access and "Path=/;" in access
    assert "HttpOnly" in refresh and "Path=/auth/refresh" in refresh


def test_jwks_publishes_the_signing_key(api: Api, server: LiveServer):
    token = api.login(api.register())["access_token"]
    jwks = httpx.get(f"{server.url}/oauth/jwks")
    assert jwks.status_code == 200 and "max-age" in jwks.headers["Cache-Control"]
    keys = jwks.json()["keys"]
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["kid"] in {k["kid"] for k in keys}
    assert all("d" not in k for k in keys)  # public halves only


def test_openapi_document_describes_the_api(server: LiveServer):
    spec = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    assert spec["openapi"] == "3.1.0"
    assert {
        "/api/v1/me",
        "/api/v1/api-keys",
        "/api/v1/api-keys/{key_id}/rotate",
        "/auth/login",
        "/auth/refresh",
    } <= set(spec["paths"])
    create = spec["paths"]["/api/v1/api-keys"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ApiKeyCreate"
    )
    assert create["x-required-permission"] == "keys:write"
    assert "ApiKeyCreate" in spec["components"]["schemas"]


def test_login_rate_limit_answers_429_with_retry_after(make_database, start_server):
    node = start_server(make_database("sqlite"), LIMEN_RATELIMIT_LOGIN="3/minute")
    body = {"email": unique_email(), "password": "wrong password"}
    codes = [httpx.post(f"{node.url}/auth/login", json=body).status_code for _ in range(3)]
    assert codes == [401, 401, 401]
    limited = httpx.post(f"{node.url}/auth/login", json=body)
    assert limited.status_code == 429
    assert limited.headers["Content-Type"] == "application/problem+json"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


def test_logs_are_json_with_request_ids_and_no_secrets(api: Api, server: LiveServer):
    account = api.register()
    tokens = api.login(account)
    api.me(tokens["access_token"])
    httpx.post(f"{server.url}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    time.sleep(1.0)  # request lines are written every LIMEN_LOG_FLUSH_SECONDS (0.5 s)
    text = server.log_text()
    for secret in (
        tokens["access_token"],
        tokens["refresh_token"],
        account.password,
        tokens["access_token"].split(".")[2],
    ):
        assert secret not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(line.get("event") == "request" and line.get("request_id") for line in lines)


def test_registration_can_be_switched_off(make_database, start_server):
    node = start_server(make_database("sqlite"), LIMEN_REGISTRATION_ENABLED="false")
    response = httpx.post(
        f"{node.url}/auth/register", json={"email": unique_email(), "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "administrator" in response.json()["detail"]
