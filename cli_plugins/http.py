"""HTTP plumbing shared by every command: the client, transport errors, problem+json errors."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from .errors import AuthRequired, Forbidden, LimenError, ServerUnreachable
from .stepup import StepUpRequired, challenge_of

if TYPE_CHECKING:  # httpx is imported when a command first talks HTTP, not at start-up
    import httpx

USER_AGENT = "limen-cli/0.1"
TIMEOUT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10.0
CLOCK_SKEW_WARN = 60.0


def timeout() -> httpx.Timeout:
    import httpx

    return httpx.Timeout(TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)


def new_client() -> httpx.Client:
    """The one HTTP client configuration: no redirects followed, a named User-Agent."""
    import httpx

    return httpx.Client(timeout=timeout(), headers={"User-Agent": USER_AGENT})


def unreachable(server: str, exc: httpx.HTTPError) -> ServerUnreachable:
    """Translate a transport failure into what happened and what to check."""
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        what = f"The Limen server at {server} did not answer in time ({type(exc).__name__})."
    else:
        what = f"Cannot reach the Limen server at {server} ({exc or type(exc).__name__})."
    return ServerUnreachable(
        what,
        "Check the URL (--server, LIMEN_SERVER or the profile's server), your network, and "
        "that the server is running.",
    )


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object, or {} when it has none."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def clock_skew(response: httpx.Response) -> float | None:
    """Seconds our clock is ahead of the server's (from its Date header), if known."""
    date = response.headers.get("Date")
    if not date:
        return None
    try:
        return time.time() - parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return None


def skew_hint(response: httpx.Response) -> str | None:
    skew = clock_skew(response)
    if skew is None or abs(skew) < CLOCK_SKEW_WARN:
        return None
    direction = "ahead of" if skew > 0 else "behind"
    return (
        f"Your clock is {abs(skew):.0f} s {direction} the server's; fix the system time "
        "(e.g. enable NTP: `timedatectl set-ntp true`)."
    )


def retry_after(response: httpx.Response) -> str:
    value = response.headers.get("Retry-After", "").strip()
    return f" Try again in {value} s." if value.isdigit() else " Try again later."


def problem_error(response: httpx.Response, *, what: str = "The request") -> LimenError:
    """The LimenError for an error response (RFC 9457 problem details when present)."""
    body = json_body(response)
    detail = str(body.get("detail") or body.get("error_description") or body.get("title") or "")
    status = response.status_code
    detail = detail or response.reason_phrase or f"HTTP {status}"
    if status == 401:
        challenge = challenge_of(response)
        if challenge is not None:
            return StepUpRequired(what, challenge)
        hints = [h for h in (skew_hint(response),) if h and body.get("cause") == "expired"]
        return AuthRequired(f"{what} was refused: {detail}", " ".join(hints) or None)
    if status == 403:
        permission = body.get("required_permission")
        need = f" It needs the '{permission}' permission." if permission else ""
        return Forbidden(
            f"{what} was forbidden: {detail}{need}",
            f"Use a credential that has '{permission}': an account whose role grants it, or "
            f"an API key created with `limen keys create NAME --scope {permission}`."
            if permission
            else "Ask an administrator for access.",
            permission=str(permission) if permission else None,
        )
    if status == 423:
        return LimenError(f"The account is locked: {detail}", retry_after(response).strip())
    if status == 429:
        return LimenError(f"Rate limited by the server: {detail}", retry_after(response).strip())
    if status >= 500:
        request_id = response.headers.get("X-Request-Id")
        ref = f" (request id {request_id})" if request_id else ""
        return LimenError(
            f"The server failed (HTTP {status}){ref}: {detail}",
            "Try again shortly; if it persists, tell the server's operator.",
        )
    return LimenError(f"{what} failed (HTTP {status}): {detail}")


def check(response: httpx.Response, *, what: str = "The request") -> httpx.Response:
    """Return the response if it succeeded, else raise the matching LimenError."""
    if response.is_success:
        return response
    raise problem_error(response, what=what)
