"""How an authorization response reaches the client: ``query`` (the default for
``response_type=code``), ``fragment`` (OAuth 2.0 Multiple Response Type Encoding Practices §2.1)
or ``form_post`` (OAuth 2.0 Form Post Response Mode). Successes and errors alike, and each
carries the issuer (RFC 9207 §2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from flask import render_template

from webapp.http import settings
from webapp.security import allow_form_action, redirect_origin

RESPONSE_MODES = ("query", "fragment", "form_post")  # what discovery publishes
DEFAULT_MODE = "query"

Response = tuple[int, str, list[tuple[str, str]]]  # what Authlib's handle_response takes


def response_mode(data: Mapping[str, Any], redirect_uri: str) -> str:
    """The mode the authorization request asks for (absent or empty: the default, RFC 6749
    §3.1); ``invalid_request`` for a mode Limen does not offer, and for ``form_post`` to a
    redirect URI no page can post to (a native app's private-use scheme)."""
    mode = data.get("response_mode") or DEFAULT_MODE
    if mode not in RESPONSE_MODES:
        raise InvalidRequestError(
            "response_mode must be one of: " + ", ".join(RESPONSE_MODES) + ".",
            redirect_uri=redirect_uri,
        )
    if mode == "form_post" and post_origin(redirect_uri) is None:
        raise InvalidRequestError(
            "response_mode=form_post needs an http or https redirect_uri.",
            redirect_uri=redirect_uri,
        )
    return str(mode)


def post_origin(redirect_uri: str) -> str | None:
    """The CSP source of the origin a form_post page posts to: http(s) URIs only."""
    if urlsplit(redirect_uri).scheme.lower() not in ("http", "https"):
        return None
    return redirect_origin(redirect_uri)


def error_mode(data: Mapping[str, Any], redirect_uri: str) -> str:
    """The mode an error goes back in: the one asked for if Limen can use it, else the
    default (a bad response_mode is itself reported in the query)."""
    try:
        return response_mode(data, redirect_uri)
    except OAuth2Error:
        return DEFAULT_MODE


def authorization_response(
    redirect_uri: str, params: Sequence[tuple[str, str]], mode: str
) -> Response:
    """``params`` and ``iss`` delivered to the validated ``redirect_uri`` in ``mode``: a 302
    for query and fragment; for form_post a page whose form posts them there, submitted by a
    static script (the CSP allows no inline script), its ``form-action`` that URI's origin."""
    params = [*params, ("iss", settings().issuer)]
    if mode != "form_post":
        location = add_params_to_uri(redirect_uri, params, fragment=mode == "fragment")
        return 302, "", [("Location", location)]
    origin = post_origin(redirect_uri)
    if origin is None:  # response_mode() refuses form_post for such a URI before this
        raise InvalidRequestError("response_mode=form_post needs an http or https redirect_uri.")
    allow_form_action(origin)
    body = render_template("form_post.html", action=redirect_uri, params=params)
    return 200, body, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")]


def authorization_error(error: OAuth2Error, data: Mapping[str, Any]) -> Response:
    """An error of an authorization request whose redirect URI is validated, as the client
    asked to receive responses (``data``: the request's parameters)."""
    mode = error_mode(data, error.redirect_uri)
    return authorization_response(error.redirect_uri, error.get_body(), mode)


__all__ = ["RESPONSE_MODES", "authorization_error", "authorization_response", "response_mode"]
