"""OAuth steps the attacks need, done the way a client does them (Authlib's httpx client)."""

from __future__ import annotations

import secrets
from typing import Any

from authlib.integrations.httpx_client import OAuth2Client

from tests.support.browser import follow_authorize

APP_REDIRECT = "https://app.example.com/cb"


def code_flow(
    http: Any, metadata: dict[str, Any], app: dict[str, Any], scope: str
) -> dict[str, Any]:
    """Authorization code + PKCE for a confidential app, consented in ``http``'s browser."""
    verifier = secrets.token_urlsafe(48)
    with OAuth2Client(
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        code_challenge_method="S256",
        redirect_uri=APP_REDIRECT,
        scope=scope,
    ) as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier
        )
        location = follow_authorize(http, url)
        return dict(
            client.fetch_token(
                metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
            )
        )
