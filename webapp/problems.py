"""RFC 9457 problem details: how the API and /auth endpoints report every error."""

from __future__ import annotations

from typing import Any

from flask import Response, json
from werkzeug.datastructures import MIMEAccept
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_accept_header

from webapp.authz import errors as ae
from webapp.identity import errors as ie

PROBLEM_TYPE = "urn:limen:problem:{slug}"


class Problem(Exception):
    """Raised by views to answer with a problem document."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions


def prefers_html(accept: str | None) -> bool:
    """Whether an ``Accept`` header puts an HTML page before a problem document: a browser
    navigating does; API clients (JSON, ``*/*`` or no header) do not."""
    if not accept:
        return False
    best = parse_accept_header(accept, MIMEAccept).best_match(
        ("application/problem+json", "application/json", "text/html")
    )
    return best == "text/html"


def problem_response(p: Problem) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE.format(slug=p.slug),
        "title": p.title,
        "status": p.status,
        "detail": p.detail,
        **p.extensions,
    }
    response = Response(json.dumps(body), status=p.status, mimetype="application/problem+json")
    for name, value in p.headers.items():
        response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    return response


def bearer_challenge(error: str | None, description: str | None = None, **params: str) -> str:
    """A ``WWW-Authenticate: Bearer`` value (RFC 6750 §3) with quoted, escaped parameters."""
    parts = ['realm="limen"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        safe = description.replace("\\", "").replace('"', "'")
        parts.append(f'error_description="{safe}"')
    parts.extend(f'{k}="{v}"' for k, v in params.items())
    return "Bearer " + ", ".join(parts)


def from_identity_error(exc: ie.IdentityError) -> Problem:
    """Translate a typed identity failure into the HTTP answer it deserves."""
    if isinstance(exc, ie.AccountLocked):
        if exc.retry_after is None:  # locked by an administrator: no time to wait out
            return Problem(423, "account-locked", "Account locked", exc.detail)
        return Problem(
            423,
            "account-locked",
            "Account locked",
            exc.detail,
            {"Retry-After": str(exc.retry_after)},
            retry_after=exc.retry_after,
        )
    if isinstance(exc, ie.Busy):
        return Problem(
            503,
            "busy",
            "Busy, retry shortly",
            exc.detail,
            {"Retry-After": str(exc.retry_after)},
            retry_after=exc.retry_after,
        )
    if isinstance(exc, ie.InvalidToken):
        return Problem(
            401,
            "invalid-token",
            "Invalid credential",
            exc.detail,
            {"WWW-Authenticate": bearer_challenge("invalid_token", exc.detail)},
            cause=exc.cause,
        )
    if isinstance(exc, ie.StepUpRequired):  # RFC 9470 §3
        challenge = bearer_challenge(
            "insufficient_user_authentication",
            exc.detail,
            acr_values=exc.acr,
            max_age=str(exc.max_age),
        )
        return Problem(
            401,
            "insufficient-user-authentication",
            "Fresh sign-in required",
            exc.detail,
            {"WWW-Authenticate": challenge},
            acr_values=exc.acr,
            max_age=exc.max_age,
        )
    if isinstance(exc, ie.PersonRequired):
        return Problem(403, "person-required", "A person's sign-in is required", exc.detail)
    if isinstance(exc, ie.MfaRequired):
        return Problem(401, "mfa-required", "Second step required", exc.detail, mfa_required=True)
    if isinstance(exc, ie.InvalidCredentials):
        return Problem(401, "invalid-credentials", "Sign-in failed", exc.detail)
    if isinstance(exc, ie.InvalidRefreshToken):
        return Problem(401, "invalid-refresh-token", "Refresh token rejected", exc.detail)
    if isinstance(exc, ie.EmailNotVerified):
        return Problem(403, "email-not-verified", "Email address not verified", exc.detail)
    if isinstance(exc, ie.LinkInvalid):
        return Problem(400, "link-invalid", "Link not valid", exc.detail)
    if isinstance(exc, ie.AccountDisabled):
        return Problem(403, "account-disabled", "Account disabled", exc.detail)
    if isinstance(exc, ie.NotAMember):
        return Problem(403, "not-a-member", "Not a member of that organisation", exc.detail)
    if isinstance(exc, ie.PermissionDenied):
        headers = {}
        if exc.permission:
            headers["WWW-Authenticate"] = bearer_challenge(
                "insufficient_scope", exc.detail, scope=exc.permission
            )
        return Problem(
            403, "forbidden", "Forbidden", exc.detail, headers, required_permission=exc.permission
        )
    if isinstance(exc, ie.NotFound):
        return Problem(404, "not-found", "Not found", exc.detail)
    if isinstance(exc, ie.Conflict):
        return Problem(409, "conflict", "Conflict", exc.detail)
    if isinstance(exc, ae.PolicyInvalid):
        return Problem(422, "invalid-policy", "Invalid policy", exc.detail, errors=exc.errors)
    if isinstance(exc, ae.NoAdministrator):
        return Problem(422, "no-administrator", "No one could administer", exc.detail)
    if isinstance(exc, ae.BadDecisionRequest):
        return Problem(400, exc.slug, "Invalid decision request", exc.detail)
    if isinstance(exc, ie.PolicyViolation):
        return Problem(422, "policy-violation", "Request not allowed", exc.detail)
    return Problem(400, "bad-request", "Bad request", exc.detail)


HTTP_DETAILS = {
    400: ("bad-request", "The request could not be understood; check its syntax."),
    404: ("not-found", "There is nothing at this URL. See /api/v1/openapi.json for the API."),
    405: ("method-not-allowed", "This URL does not accept that method; see the Allow header."),
    413: ("body-too-large", "The request body is too large; send at most {limit} bytes."),
    415: ("unsupported-media-type", "Send the body as application/json."),
}


def from_http_exception(exc: HTTPException, max_body: int) -> Problem:
    status = exc.code or 500
    slug, detail = HTTP_DETAILS.get(status, ("http-error", exc.description or exc.name))
    headers = {}
    if status == 405 and exc.get_headers():
        headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
    return Problem(status, slug, exc.name, detail.format(limit=max_body), headers)
