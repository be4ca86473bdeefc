"""Calls to the OAuth endpoints named in discovery: token, device authorization, revocation."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from .discovery import Metadata
from .errors import AuthRequired, LimenError, SessionEnded
from .http import check, json_body, problem_error, unreachable

CLI_CLIENT_ID = "limen-cli"
CLI_SCOPES = "openid profile email offline_access keys:read keys:write sessions:read sessions:write"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class OAuthError(LimenError):
    """An RFC 6749 error answer: ``error`` is the code, the message its description."""

    def __init__(self, error: str, description: str, status: int) -> None:
        super().__init__(f"{description or error} ({error})")
        self.error = error
        self.description = description
        self.status = status


def basic_auth(client_id: str, client_secret: str) -> httpx.BasicAuth:
    """client_secret_basic: both parts form-urlencoded first (RFC 6749 §2.3.1)."""
    return httpx.BasicAuth(quote(client_id, safe=""), quote(client_secret, safe=""))


def post_form(
    metadata: Metadata,
    http: httpx.Client,
    endpoint_key: str,
    data: dict[str, str],
    auth: httpx.Auth | None = None,
) -> dict[str, Any]:
    """POST a form to an endpoint; OAuth errors raise OAuthError, others a LimenError."""
    url = metadata.endpoint(endpoint_key)
    try:
        response = http.post(url, data=data, auth=auth) if auth else http.post(url, data=data)
    except httpx.HTTPError as exc:
        raise unreachable(metadata.server, exc) from exc
    body = json_body(response)
    if response.is_success:
        return body
    if "error" in body:
        raise OAuthError(
            str(body["error"]), str(body.get("error_description") or ""), response.status_code
        )
    raise problem_error(response, what=f"POST {url}")


def token_request(
    metadata: Metadata, http: httpx.Client, data: dict[str, str], auth: httpx.Auth | None = None
) -> dict[str, Any]:
    """A token endpoint call that must return an access token."""
    body = post_form(metadata, http, "token_endpoint", data, auth)
    if not body.get("access_token"):
        raise LimenError("The token endpoint answered without an access_token.")
    return body


def refresh(
    metadata: Metadata, http: httpx.Client, refresh_token: str, client_id: str
) -> dict[str, Any]:
    """Spend a (rotating) refresh token; a refused one ends the session."""
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    try:
        return token_request(metadata, http, data)
    except OAuthError as exc:
        if exc.error == "invalid_grant":
            raise SessionEnded(
                f"Your session on {metadata.server} has ended: {exc.description or exc.error}",
                "Run `limen login` to sign in again.",
            ) from exc
        if exc.error == "invalid_client":
            raise AuthRequired(
                f"The server no longer accepts the client {client_id!r}: {exc.description}",
                "Run `limen login` again; if it persists, ask the server's administrator.",
            ) from exc
        raise


def client_credentials(
    metadata: Metadata, http: httpx.Client, client_id: str, secret: str, scope: str | None
) -> dict[str, Any]:
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    try:
        return token_request(metadata, http, data, basic_auth(client_id, secret))
    except OAuthError as exc:
        if exc.error == "invalid_client":
            raise AuthRequired(
                f"The server rejected the client credentials for {client_id!r}: "
                f"{exc.description or exc.error}",
                "Check LIMEN_CLIENT_ID / LIMEN_CLIENT_SECRET (or --client-id/--client-secret).",
            ) from exc
        raise


def revoke(
    metadata: Metadata,
    http: httpx.Client,
    token: str,
    hint: str,
    client_id: str,
    auth: httpx.Auth | None = None,
) -> None:
    """RFC 7009 revocation (public clients send client_id, confidential ones authenticate)."""
    data = {"token": token, "token_type_hint": hint}
    if auth is None:
        data["client_id"] = client_id
    post_form(metadata, http, "revocation_endpoint", data, auth)


def get_json(http: httpx.Client, url: str, token: str, server: str) -> dict[str, Any]:
    """GET a JSON resource with an explicit bearer credential (no refresh)."""
    try:
        response = http.get(url, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        raise unreachable(server, exc) from exc
    return json_body(check(response, what=f"GET {url}"))
