"""Authorization requests handed over ahead of the browser, at the authorization endpoint:
signed request objects (RFC 9101 JAR, ``request=``) verified with the client's registered
keys, and pushed requests (RFC 9126 PAR, ``request_uri=urn:ietf:params:oauth:request_uri:...``)
read from ``identity.request_objects``. Either way only the request object's (or the pushed)
parameters are used; the query adds nothing but ``client_id`` and Limen's own mark of a
sign-in it just asked for (``prompts``).

A ``request_uri`` Limen did not hand out is ``request_uri_not_supported``: Limen never
fetches request objects from other servers. A client registered with
``require_pushed_authorization_requests`` may only come with a pushed request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc9101 import JWTAuthenticationRequest
from authlib.oauth2.rfc9101.errors import (
    InvalidRequestObjectError,
    InvalidRequestUriError,
    RequestUriNotSupportedError,
)
from flask import g
from flask import request as http_request
from joserfc import jwt
from joserfc.errors import (
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import KeySet

from webapp.browser import FRESH_SIGN_IN
from webapp.extensions import identity
from webapp.http import settings
from webapp.identity.request_objects import REQUEST_OBJECT_ALGS, is_pushed_request_uri
from webapp.oauth.clients import Client

# JWT claims of the request object itself, not authorization request parameters.
JWT_CLAIMS = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti"})
CLOCK_SKEW = 30  # seconds of leeway on exp / nbf / iat
MAX_REQUEST_OBJECT = 16_384  # characters


def authorization_params() -> Mapping[str, Any]:
    """The parameters of the authorization request being answered: the request object's
    or the pushed ones once they were read, else the query or form."""
    params: Mapping[str, Any] | None = g.get("limen_authorization_params")
    return params if params is not None else http_request.values


def _printable(text: str) -> str:
    """``text`` with only the characters an error_description may carry (RFC 6749 §5.2)."""
    return "".join(c for c in text if c not in '"\\' and 0x20 <= ord(c) <= 0x7E)


def _param(value: Any) -> str:
    """A request object claim as the parameter it stands for (numbers such as max_age are
    JSON numbers there; anything structured is passed on as JSON)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def verify_request_object(client: Client, raw: Any) -> dict[str, str]:
    """The authorization request parameters of ``raw``, a request object ``client`` signed
    (RFC 9101 §6.1-6.3): signed with a registered key and an accepted algorithm (never
    ``none`` or HMAC), ``iss`` and ``client_id`` the client, ``aud`` the issuer, not expired
    (``exp`` required) nor early; else ``invalid_request_object`` saying which check failed."""
    client_id = client.get_client_id()
    if not isinstance(raw, str) or not raw or len(raw) > MAX_REQUEST_OBJECT:
        raise InvalidRequestObjectError(
            f"request must be a signed JWT of at most {MAX_REQUEST_OBJECT} characters."
        )
    if not client.row.jwks:
        raise InvalidRequestObjectError(
            "This client has registered no keys (jwks) to verify request objects with; an "
            "administrator can add its public keys to the client registration."
        )
    keys = KeySet.import_key_set(client.row.jwks)  # type: ignore[arg-type]
    try:
        token = jwt.decode(raw, keys, list(REQUEST_OBJECT_ALGS))
    except UnsupportedAlgorithmError as exc:
        raise InvalidRequestObjectError(
            "The request object must be signed with one of "
            f"{', '.join(REQUEST_OBJECT_ALGS)} (alg none and HMAC are refused)."
        ) from exc
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidRequestObjectError(
            "The request object is not a JWT signed by one of this client's registered keys "
            "(jwks): check the key, its kid and the alg."
        ) from exc
    claims = token.claims
    registry = jwt.JWTClaimsRegistry(
        leeway=CLOCK_SKEW,
        iss={"essential": True, "value": client_id},
        aud={"essential": True, "value": settings().issuer},
        client_id={"essential": True, "value": client_id},
        exp={"essential": True},
    )
    try:
        registry.validate(claims)
    except MissingClaimError as exc:
        raise InvalidRequestObjectError(
            f"The request object lacks {_printable(exc.description.split(':')[-1]).strip()}: "
            "iss and client_id (the client), aud (the issuer) and exp are required."
        ) from exc
    except ExpiredTokenError as exc:
        raise InvalidRequestObjectError("The request object has expired (exp).") from exc
    except (InvalidClaimError, JoseError) as exc:
        raise InvalidRequestObjectError(
            f"The request object's claims do not check out ({_printable(exc.description)}): "
            f"iss and "
            f"client_id must be {client_id}, aud must be {settings().issuer}."
        ) from exc
    if "request" in claims or "request_uri" in claims:
        raise InvalidRequestObjectError(
            "A request object may not itself carry request or request_uri (RFC 9101 section 4)."
        )
    return {key: _param(value) for key, value in claims.items() if key not in JWT_CLAIMS}


def _error_redirect(client: Client, data: Mapping[str, Any]) -> str | None:
    """Where an error about the request object may go: the query's redirect URI if it is
    registered for the client (else its only one); None means an error page."""
    asked = data.get("redirect_uri")
    if asked:
        return str(asked) if client.check_redirect_uri(str(asked)) else None
    return client.get_default_redirect_uri() if len(client.row.redirect_uris) == 1 else None


class RequestObjects(JWTAuthenticationRequest):  # type: ignore[misc]
    """Authlib's JAR extension, run before the authorization grant is chosen: replaces the
    request's parameters with the verified request object's or the pushed request's."""

    def __init__(self) -> None:
        super().__init__(support_request=True, support_request_uri=True)

    def validate_request_uri(self, request_uri: str, client: Client) -> bool:
        """Only request_uri values this server handed out (PAR); nothing is fetched."""
        return is_pushed_request_uri(request_uri)

    def parse_authorization_request(self, server: Any, request: Any) -> None:
        """Swap in the request object's or the pushed parameters; errors go to the client's
        registered redirect URI when the query names one (else an error page)."""
        if getattr(request, "limen_pushing", False):  # the PAR endpoint validates its own
            return
        client = server.query_client(request.payload.client_id or "")
        if client is None:
            return  # the grant's own checks answer an unknown client (an error page)
        data = request.payload.data
        try:
            resolved = self._resolve(client, request.payload)
        except OAuth2Error as error:
            error.redirect_uri = _error_redirect(client, data)
            error.state = data.get("state")
            raise
        if resolved is None:
            return
        params, pushed = resolved
        params["client_id"] = client.get_client_id()
        if FRESH_SIGN_IN in data:  # our own mark of a sign-in just asked for (prompts.py)
            params[FRESH_SIGN_IN] = str(data[FRESH_SIGN_IN])
        else:
            params.pop(FRESH_SIGN_IN, None)  # only Limen sets it, never a client
        request.payload = BasicOAuth2Payload(params)
        request.pushed_request_uri = pushed
        g.limen_authorization_params = params

    def _resolve(self, client: Client, payload: Any) -> tuple[dict[str, str], str | None] | None:
        data = payload.data
        for name in ("request", "request_uri"):
            if len(payload.datalist.get(name, ())) > 1:
                raise InvalidRequestError(f"Send {name} once.")
        if "request" in data and "request_uri" in data:
            raise InvalidRequestError("Send either request or request_uri, not both.")
        if "request_uri" in data:
            request_uri = str(data["request_uri"])
            if not self.validate_request_uri(request_uri, client):
                raise RequestUriNotSupportedError(
                    "Only request_uri values from this server's pushed authorization request "
                    f"endpoint ({settings().issuer}/oauth/par) are accepted; push the request "
                    "there, or send the parameters themselves."
                )
            params = identity().pushed_requests.open(request_uri, client.get_client_id())
            if params is None:
                raise InvalidRequestUriError(
                    "This request_uri is unknown, has expired or was already used (or another "
                    "client pushed it): push the authorization request again."
                )
            return params, request_uri
        if client.row.require_pushed_authorization_requests:
            raise InvalidRequestError(
                "This client must push its authorization requests first (RFC 9126): POST "
                f"them to {settings().issuer}/oauth/par and send only client_id and the "
                "request_uri here."
            )
        if "request" in data:
            return verify_request_object(client, data["request"]), None
        return None


__all__ = ["RequestObjects", "authorization_params", "verify_request_object"]
