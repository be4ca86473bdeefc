"""Who the authorization server is and what it offers: the RFC 8414 / OIDC Discovery
document at /.well-known."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from webapp.errors import register_json_errors
from webapp.http import settings
from webapp.identity.auth_context import ACR_VALUES
from webapp.identity.clients import DEVICE_GRANT, SUPPORTED_SCOPES
from webapp.identity.request_objects import REQUEST_OBJECT_ALGS
from webapp.identity.signing_keys import ALGS
from webapp.oauth.clients import ANY_CLIENT_METHODS, CONFIDENTIAL_METHODS
from webapp.oauth.response_modes import RESPONSE_MODES

wellknown = Blueprint("wellknown", __name__)
register_json_errors(wellknown)


def metadata() -> dict[str, Any]:
    iss = settings().issuer
    return {
        "issuer": iss,
        "authorization_endpoint": f"{iss}/oauth/authorize",
        "token_endpoint": f"{iss}/oauth/token",
        "device_authorization_endpoint": f"{iss}/oauth/device_authorization",
        "revocation_endpoint": f"{iss}/oauth/revoke",
        "introspection_endpoint": f"{iss}/oauth/introspect",
        "userinfo_endpoint": f"{iss}/oauth/userinfo",
        "end_session_endpoint": f"{iss}/oauth/logout",
        "jwks_uri": f"{iss}/oauth/jwks",
        "scopes_supported": sorted(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": list(RESPONSE_MODES),
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            DEVICE_GRANT,
        ],
        "token_endpoint_auth_methods_supported": list(ANY_CLIENT_METHODS),
        "revocation_endpoint_auth_methods_supported": list(ANY_CLIENT_METHODS),
        "introspection_endpoint_auth_methods_supported": list(CONFIDENTIAL_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ALGS),
        "acr_values_supported": list(ACR_VALUES),
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_parameter_supported": False,
        # Signed request objects by value (RFC 9101) and pushed requests (RFC 9126); a
        # request_uri is only ever one PAR handed out: nothing is fetched by reference, so
        # request_uri_parameter_supported (default true, Discovery §3) is false; RFC 9126 §5
        # makes PAR request_uris usable whatever it says.
        "request_parameter_supported": True,
        "request_uri_parameter_supported": False,
        "request_object_signing_alg_values_supported": list(REQUEST_OBJECT_ALGS),
        "pushed_authorization_request_endpoint": f"{iss}/oauth/par",
        "require_pushed_authorization_requests": False,  # per client (its registration)
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "sid",
            "amr",
            "acr",
            "nonce",
            "at_hash",
            "name",
            "preferred_username",
            "email",
            "email_verified",
        ],
        "limen_api_base": f"{iss}/api/v1",
        "limen_login_endpoint": f"{iss}/auth/login",
    }


@wellknown.get("/.well-known/oauth-authorization-server")
@wellknown.get("/.well-known/openid-configuration")
def discovery() -> Response:
    response = jsonify(metadata())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
