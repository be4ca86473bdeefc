"""Authorization decisions for Python services: ``AuthClient.authorize`` asks Limen's AuthZEN
endpoint, and ``authorized`` guards a Flask (or any WSGI framework's) view with it.

    auth = AuthClient.from_config()          # e.g. LIMEN_TOKEN from a client-credentials login

    @app.get("/files/<name>")
    @authorized(auth, "read", lambda name: f'Acme::File::"{name}"',
                subject=lambda: current_user_email(), org="acme")
    def read_file(name): ...

A deny answers ``403`` with a JSON body and the view never runs; a failure to ask (Limen
unreachable, a typo in a name) raises, so it is never mistaken for an allow.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .errors import LimenError, UsageError

F = TypeVar("F", bound=Callable[..., Any])
EntityLike = str | Mapping[str, str]
USER_TYPE = "Limen::User"
_UID = re.compile(r'^(?P<type>[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)::"(?P<id>.*)"$')


@dataclass(frozen=True)
class Decision:
    """Limen's answer; truthy when allowed. ``policies`` are filled when asked to explain."""

    allowed: bool
    policies: list[dict[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.allowed


def as_entity(value: EntityLike, default_type: str | None = None) -> dict[str, str]:
    """``{"type", "id"}`` from a mapping, ``Type::"id"``, or a bare id of ``default_type``."""
    if isinstance(value, Mapping):
        return {"type": str(value["type"]), "id": str(value["id"])}
    match = _UID.match(value)
    if match:
        return {"type": match["type"], "id": json.loads(f'"{match["id"]}"')}
    if default_type:
        return {"type": default_type, "id": value}
    raise UsageError(f"{value!r} is not an entity.", 'Write it as Type::"id".')


def evaluation_body(
    subject: EntityLike,
    action: str,
    resource: EntityLike,
    context: Mapping[str, Any] | None,
    org: str | None,
    explain: bool,
) -> dict[str, Any]:
    """The AuthZEN evaluation request."""
    merged = dict(context or {})
    if org is not None:
        merged["org"] = org
    if not merged.get("org"):
        raise UsageError("Name the organisation: org=..., context['org'] or LIMEN_ORG.")
    return {
        "subject": as_entity(subject, USER_TYPE),
        "action": {"name": action},
        "resource": as_entity(resource),
        "context": merged,
        "options": {"explain": explain},
    }


def decision_from(answer: Mapping[str, Any]) -> Decision:
    """A Decision from an AuthZEN answer (strict: the decision must be a boolean)."""
    allowed = answer.get("decision")
    if not isinstance(allowed, bool):
        raise LimenError("Limen's answer has no decision; treat it as a failure, not a deny.")
    policies = (answer.get("context") or {}).get("policies") or []
    return Decision(allowed, list(policies))


def authorized(
    client: Any,
    action: str,
    resource: Callable[..., EntityLike],
    *,
    subject: Callable[[], EntityLike],
    org: str | None = None,
    context: Callable[..., Mapping[str, Any]] | None = None,
) -> Callable[[F], F]:
    """Guard a view: ``resource(**view_kwargs)`` and ``subject()`` name who and what; the view
    runs only when Limen allows ``action``, else the answer is 403."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            extra = context(**kwargs) if context else None
            decision = client.authorize(subject(), action, resource(**kwargs), extra, org=org)
            if not decision:
                return {"error": "forbidden", "detail": f"Not allowed to {action}."}, 403
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
