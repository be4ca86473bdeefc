"""Pushed authorization requests (RFC 9126): a client authenticates as at the token
endpoint (public clients by client_id, PKCE being required anyway), pushes the parameters of
an authorization request (or a signed request object, RFC 9101), which are validated as the
authorization endpoint would; it gets back a one-time ``request_uri`` to send the browser
with. ``identity.request_objects`` keeps the request."""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.endpoint import Endpoint, EndpointRequest
from authlib.oauth2.rfc6749.errors import InvalidRequestError, UnauthorizedClientError
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload

from webapp.extensions import identity
from webapp.identity.errors import PolicyViolation
from webapp.oauth.clients import ANY_CLIENT_METHODS
from webapp.oauth.request_objects import verify_request_object

# What authenticates the client at this endpoint; never part of the authorization request.
CLIENT_AUTH_PARAMS = frozenset({"client_secret", "client_assertion", "client_assertion_type"})


class PushedAuthorization(Endpoint):  # type: ignore[misc]
    ENDPOINT_NAME = "pushed_authorization"
    CLIENT_AUTH_METHODS = list(ANY_CLIENT_METHODS)

    def validate_request(self, request: Any) -> EndpointRequest:
        """The authenticated client's request, validated as an authorization request; errors
        are JSON answers (RFC 9126 §2.3), never redirects."""
        client = self.server.authenticate_client(
            request, self.CLIENT_AUTH_METHODS, self.ENDPOINT_NAME
        )
        data = request.payload.data
        repeated = sorted(k for k, v in request.payload.datalist.items() if len(v) > 1)
        if repeated:  # RFC 6749 §3.1: parameters must not be included more than once
            raise InvalidRequestError(f"Send each parameter once: {', '.join(repeated)}.")
        if "request_uri" in data:
            raise InvalidRequestError("request_uri cannot be pushed (RFC 9126 section 2.1).")
        if "request" in data:
            params = verify_request_object(client, data["request"])
        else:
            params = {k: str(v) for k, v in data.items() if k not in CLIENT_AUTH_PARAMS}
        if params.get("client_id", client.get_client_id()) != client.get_client_id():
            raise InvalidRequestError("client_id must be the client that authenticated.")
        params["client_id"] = client.get_client_id()
        if not client.check_grant_type("authorization_code"):
            raise UnauthorizedClientError("This client may not use the authorization_code grant.")
        request.payload = BasicOAuth2Payload(params)
        request.limen_pushing = True  # RequestObjects leaves the pushed parameters alone
        try:
            self.server.get_authorization_grant(request).validate_authorization_request()
        except OAuth2Error as error:
            error.redirect_uri = None  # answered here, to the client (RFC 9126 §2.3)
            error.state = None
            raise
        return EndpointRequest(request=request, client=client)

    def create_response(self, validated: EndpointRequest) -> tuple[int, dict[str, Any], Any]:
        """201 with the request_uri and its lifetime (RFC 9126 §2.2)."""
        try:
            request_uri, expires_in = identity().pushed_requests.push(
                validated.client.get_client_id(), validated.request.payload.data
            )
        except PolicyViolation as exc:
            raise InvalidRequestError(exc.detail) from exc
        body = {"request_uri": request_uri, "expires_in": expires_in}
        return 201, body, [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
