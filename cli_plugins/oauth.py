"""Calls to the OAuth endpoints named in discovery: token, device authorization, revocation.

Every call after a login names the client the credentials were issued to: a public client
sends ``client_id`` in the form, a confidential one authenticates (``auth``); refresh tokens
are bound to their client (RFC 6749 §6, RFC 9700 §4.14)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .errors import AuthRequired, Forbidden, LimenError, SessionEnded
from .http import check, json_body, problem_error, unreachable

if TYPE_CHECKING:
    import httpx

    from .discovery import Metadata

CLI_CLIENT_ID = "limen-cli"
CLI_SCOPES = "openid profile email offline_access keys:read keys:write sessions:read sessions:write"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class OAuthError(LimenError):
    """An RFC 6749 error answer: ``error`` is the code, the message its description."""

    code = "oauth_error"

    def __init__(self, error: str, description: str, status: int) -> None:
        super().__init__(f"{description or error} ({error})")
        self.error = error
        self.description = description
        self.status = status


def basic_auth(client_id: str, client_secret: str) -> httpx.BasicAuth:
    """client_secret_basic: both parts form-urlencoded first (RFC 6749 §2.3.1)."""
    import httpx

    return httpx.BasicAuth(quote(client_id, safe=""), quote(client_secret, safe=""))


def post_form(
    metadata: Metadata,
    http: httpx.Client,
    endpoint_key: str,
    data: dict[str, str],
    auth: httpx.Auth | None = None,
) -> dict[str, Any]:
    """POST a form to an endpoint; OAuth errors raise OAuthError, others a LimenError."""
    import httpx

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


def client_form(client_id: str, auth: httpx.Auth | None, **data: str) -> dict[str, str]:
    """A form for an endpoint that authenticates the client: a public client (no ``auth``)
    names itself with ``client_id`` (RFC 6749 §3.2.1)."""
    return data if auth is not None else {**data, "client_id": client_id}


def refresh(
    metadata: Metadata,
    http: httpx.Client,
    refresh_token: str,
    client_id: str,
    auth: httpx.Auth | None = None,
    organization: str | None = None,
) -> dict[str, Any]:
    """Spend a (rotating) refresh token as the client it was issued to; a refused one ends
    the session (the caller adds how to log in again). ``organization`` asks the new tokens
    to act in that organisation ("": in none); not being a member is ``Forbidden``."""
    data = client_form(client_id, auth, grant_type="refresh_token", refresh_token=refresh_token)
    if organization is not None:
        data["organization"] = organization
    try:
        return token_request(metadata, http, data, auth)
    except OAuthError as exc:
        if exc.error == "invalid_grant":
            raise SessionEnded(
                f"Your session on {metadata.server} has ended: {exc.description or exc.error}"
            ) from exc
        if exc.error in ("invalid_client", "unauthorized_client"):
            raise AuthRequired(
                f"The server did not accept the client {client_id!r} for renewing the session: "
                f"{exc.description or exc.error}",
                "If this client is a plugin's, check its credentials; else ask the server's "
                "administrator.",
            ) from exc
        if organization is not None and exc.error == "invalid_request":
            raise Forbidden(
                exc.description or exc.error, "`limen org list` shows your organisations."
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
        if exc.error == "invalid_scope":
            raise Forbidden(
                f"The server refused the scopes asked for {client_id!r}: "
                f"{exc.description or exc.error}",
                "Ask only for scopes the client is registered for (--scope), or have an "
                "administrator add them to the client.",
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
    data = client_form(client_id, auth, token=token, token_type_hint=hint)
    post_form(metadata, http, "revocation_endpoint", data, auth)


def get_json(http: httpx.Client, url: str, token: str, server: str) -> dict[str, Any]:
    """GET a JSON resource with an explicit bearer credential (no refresh)."""
    import httpx

    try:
        response = http.get(url, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        raise unreachable(server, exc) from exc
    return json_body(check(response, what=f"GET {url}"))
