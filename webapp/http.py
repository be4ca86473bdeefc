"""HTTP glue shared by the blueprints: request facts, credentials, guards, cookies, bodies.

Blueprints translate HTTP into calls on ``webapp.identity`` and its errors into responses;
this module is where a request's credential is found and handed to ``authenticate()``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import current_app, g, request, url_for
from flask_wtf.csrf import generate_csrf
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.wrappers import Response as BaseResponse

from webapp.extensions import csrf, identity
from webapp.identity import Credential, Principal, RequestMeta, rbac
from webapp.identity.tokens import TokenSet
from webapp.problems import Problem, bearer_challenge
from webapp.settings import Settings

M = TypeVar("M", bound=BaseModel)
F = TypeVar("F", bound=Callable[..., Any])
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def settings() -> Settings:
    return current_app.extensions["limen.settings"]  # type: ignore[no-any-return]


def request_meta() -> RequestMeta:
    return RequestMeta(
        ip=request.remote_addr,
        user_agent=request.headers.get("User-Agent", "")[:255] or None,
        request_id=g.get("request_id"),
    )


def is_htmx() -> bool:
    """The request was made by htmx (an XHR that must not follow a redirect off-origin)."""
    return bool(request.headers.get("HX-Request"))


def safe_next(value: str | None) -> str:
    """Where to go after sign-in: only same-origin paths (never an absolute URL, never
    //host, never a backslash); anything else is the portal's home."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return url_for("portal.home")
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return url_for("portal.home")
    return value


# -- cookies -----------------------------------------------------------------------------------
def access_cookie_name() -> str:
    return settings().cookie_prefix_host + "limen_at"


def refresh_cookie_name() -> str:
    # Path-scoped to the refresh endpoint, so it cannot use __Host- (which requires Path=/).
    return ("__Secure-" if settings().cookie_secure else "") + "limen_rt"


REFRESH_COOKIE_PATH = "/auth/refresh"


def set_token_cookies(response: BaseResponse, tokens: TokenSet) -> None:
    """The access cookie outlives its token on purpose: an expired token tells the portal to
    refresh (the refresh cookie is only sent to /auth/refresh), a missing one to sign in."""
    s = settings()
    response.set_cookie(
        access_cookie_name(),
        tokens.access_token,
        max_age=s.refresh_token_ttl,
        path="/",
        secure=s.cookie_secure,
        httponly=True,
        samesite="Lax",
    )
    if tokens.refresh_token:
        response.set_cookie(
            refresh_cookie_name(),
            tokens.refresh_token,
            max_age=s.refresh_token_ttl,
            path=REFRESH_COOKIE_PATH,
            secure=s.cookie_secure,
            httponly=True,
            samesite="Lax",
        )


def clear_token_cookies(response: BaseResponse) -> None:
    s = settings()
    response.delete_cookie(
        access_cookie_name(), path="/", secure=s.cookie_secure, httponly=True, samesite="Lax"
    )
    response.delete_cookie(
        refresh_cookie_name(),
        path=REFRESH_COOKIE_PATH,
        secure=s.cookie_secure,
        httponly=True,
        samesite="Lax",
    )


def csrf_token() -> str:
    return generate_csrf()  # type: ignore[no-any-return]


def protect_cookie_request() -> None:
    """Cookie-borne credentials on unsafe methods need flask-wtf's CSRF token (header)."""
    if request.method in UNSAFE_METHODS:
        csrf.protect()


# -- credentials -------------------------------------------------------------------------------
def request_credential() -> Credential | None:
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Problem(
                401,
                "invalid-request",
                "Unsupported authorization",
                "Send credentials as 'Authorization: Bearer <access token or API key>'.",
                {"WWW-Authenticate": bearer_challenge("invalid_request")},
            )
        return Credential(value.strip(), "bearer")
    api_key = request.headers.get("X-API-Key")
    if api_key is not None:
        return Credential(api_key.strip(), "x-api-key")
    cookie = request.cookies.get(access_cookie_name())
    if cookie:
        return Credential(cookie, "cookie")
    return None


def current_principal(optional: bool = False) -> Principal | None:
    """The request's Principal via ``identity.authenticate``; memoized for the request."""
    if "principal" in g:
        return g.principal  # type: ignore[no-any-return]
    credential = request_credential()
    if credential is None:
        if optional:
            return None
        raise Problem(
            401,
            "authentication-required",
            "Authentication required",
            "Send an access token or API key in 'Authorization: Bearer ...', or sign in.",
            {"WWW-Authenticate": bearer_challenge(None)},
        )
    principal = identity().authenticate(credential)
    g.principal = principal
    return principal


def require(permission: str) -> Callable[[F], F]:
    """Guard a view: the caller must be authenticated and hold ``permission``, as decided by
    the one decision point on the built-in ``Limen`` policies (``webapp.authz.admin``)."""
    known_permission(permission)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            assert principal is not None
            if principal.credential == "cookie":
                protect_cookie_request()  # a browser's cookie: writes need the CSRF token
            identity().authz.admin(principal, permission)  # Cedar, on Limen's own policies
            return view(*args, **kwargs)

        wrapper.required_permission = permission  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def known_permission(permission: str) -> None:
    """A guard naming a permission the role table does not know fails when the view is
    declared (at start-up), not as a 500 when it is called."""
    if permission not in rbac.PERMISSIONS:
        raise ValueError(f"{permission!r} is not a Limen permission (webapp/identity/rbac.py).")


# -- bodies ------------------------------------------------------------------------------------
def _first_nul(value: Any, where: str = "") -> str | None:
    """The field of the first text holding a NUL character: no field takes one, and
    PostgreSQL cannot even store one in text (it would fail as a 500)."""
    if isinstance(value, str):
        return (where or "(body)") if "\x00" in value else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if found := _first_nul(item, f"{where}.{key}" if where else str(key)):
            return found
    return None


def parse_body(model: type[M], *, allow_empty: bool = False) -> M:
    """Validate the JSON body against ``model`` (strict types); failures are 400/413/415."""
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if not raw.strip() and allow_empty:
        return model()
    if not request.is_json:
        raise UnsupportedMediaType()
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(
            400,
            "malformed-json",
            "Malformed JSON",
            "The body is not valid JSON; check quoting and commas.",
        ) from exc
    if not isinstance(payload, dict):
        raise Problem(400, "invalid-body", "Invalid body", "The body must be a JSON object.")
    if nul := _first_nul(payload):
        message = "must not contain NUL characters (\\u0000)"
        raise Problem(
            400,
            "validation-error",
            "Invalid request body",
            f"Fix these fields and retry: {nul}: {message}.",
            errors=[{"field": nul, "message": message}],
        )
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = validation_errors(exc)
        raise Problem(
            400, "validation-error", "Invalid request body", fix_these(errors), errors=errors
        ) from exc


def validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Each failure of a model's validation as ``{"field", "message"}`` (no input echoed)."""
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


def fix_these(errors: list[dict[str, str]]) -> str:
    """The first five failures in one sentence, as the API and the portal show them."""
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return f"Fix these fields and retry: {summary}."


def parse_form(model: type[M], fields: dict[str, Any]) -> M:
    """Validate a form's ``fields`` with the same model the API validates its JSON with.

    Form values are text, so they are coerced as pydantic's lax mode does ("30" -> 30,
    "on" -> True); anything the model refuses raises ``FormInvalid`` with its messages.
    """
    try:
        return model.model_validate(fields, strict=False)
    except ValidationError as exc:
        raise FormInvalid(fix_these(validation_errors(exc))) from exc


class FormInvalid(Exception):
    """A form the model refused; ``message`` says which fields and why, for the page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
