"""/api/v1/users (admin), /api/v1/sessions and /api/v1/me/consents (your own), /api/v1/audit
(admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, jsonify, request

from webapp.extensions import identity
from webapp.http import current_principal, parse_body, request_meta, require
from webapp.identity import Principal
from webapp.identity.delegation import Holder
from webapp.identity.users import LiveSession, is_admin_lock
from webapp.models import User
from webapp.openapi import documented
from webapp.problems import Problem
from webapp.schemas import (
    AuditOut,
    AuditPage,
    ConsentList,
    ConsentOut,
    RevokedCount,
    SessionList,
    SessionOut,
    UserAdminOut,
    UserPage,
    UserPatch,
)
from webapp.stepup import demand

from . import bp


def _principal() -> Principal:
    principal = current_principal()
    assert principal is not None
    return principal


def user_out(user: User) -> dict[str, Any]:
    """A user as admins see it: roles, whether active or locked, and by whom."""
    now = identity().clock()
    return UserAdminOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        roles=list(user.role_names),
        active=user.is_active,
        locked=user.locked_until is not None and user.locked_until > now,
        locked_by_admin=is_admin_lock(user.locked_until),
        last_login_at=user.last_login_at,
        created_at=user.created_at,
    ).model_dump(mode="json")


def session_out(live: LiveSession, current_sid: str | None) -> dict[str, Any]:
    """A live session as its owner sees it; ``current`` marks the caller's own."""
    row = live.row
    return SessionOut(
        id=row.id,
        client_id=row.client_id,
        client_name=live.client_name,
        auth_method=row.auth_method,
        ip=row.ip,
        user_agent=row.user_agent,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
        current=row.id == current_sid,
    ).model_dump(mode="json")


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """Query parameter ``name`` as a whole number in [low, high]; else a 400 problem."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise Problem(
            400,
            "invalid-query",
            "Invalid query parameter",
            f"'{name}' must be a whole number from {low} to {high}.",
        )
    return int(raw)


def time_arg(name: str) -> datetime | None:
    """Query parameter ``name`` as an aware ISO 8601 time, None if absent; else a 400."""
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Problem(
            400,
            "invalid-query",
            "Invalid query parameter",
            f"'{name}' must be an ISO 8601 time, e.g. 2026-11-23T08:00:00Z.",
        ) from exc
    if value.tzinfo is None:
        raise Problem(
            400,
            "invalid-query",
            "Invalid query parameter",
            f"'{name}' needs a timezone, e.g. a trailing Z.",
        )
    return value


@bp.get("/users")
@documented("Search users (admin)", responses={200: UserPage})
@require("users:read")
def list_users() -> Response:
    """Users matching ``q`` (email or name), a page at a time."""
    page = identity().users.search(
        request.args.get("q"), int_arg("page", 1, 1, 100_000), int_arg("per_page", 25, 1, 100)
    )
    return jsonify(
        {
            "items": [user_out(u) for u in page.items],
            "total": page.total,
            "page": page.page,
            "per_page": page.per_page,
        }
    )


@bp.get("/users/<user_id>")
@documented("One user (admin)", responses={200: UserAdminOut})
@require("users:read")
def get_user(user_id: str) -> Response:
    """One user; 404 if there is none with this id."""
    return jsonify(user_out(identity().users.get(user_id)))


@bp.patch("/users/<user_id>")
@documented(
    "Change roles, lock or unlock, disable or enable (admin); narrowing revokes "
    "the user's sessions at once",
    body=UserPatch,
    responses={200: UserAdminOut},
)
@require("users:write")
def patch_user(user_id: str) -> Response:
    """Change a user's roles, lock or active flag; answers the user as it now is."""
    body = parse_body(UserPatch)
    users = identity().users
    actor = _principal().sub
    meta = request_meta()
    users.get(user_id)
    if body.roles is not None:
        demand()  # a role change is a sensitive action: a recent sign-in (RFC 9470)
        holder = Holder.of(_principal())
        users.set_roles(user_id, body.roles, actor=actor, holder=holder, meta=meta)
    if body.locked is True:
        users.lock(user_id, actor=actor, meta=meta)
    elif body.locked is False:
        users.unlock(user_id, actor=actor, meta=meta)
    if body.active is not None:
        users.set_active(user_id, body.active, actor=actor, meta=meta)
    return jsonify(user_out(users.get(user_id)))


@bp.get("/sessions")
@documented("Your live sessions", responses={200: SessionList})
@require("sessions:read")
def list_sessions() -> Response:
    """The caller's live sessions, most recently used first."""
    principal = _principal()
    items = identity().my_sessions.live(principal.sub)
    return jsonify({"items": [session_out(s, principal.sid) for s in items]})


@bp.delete("/sessions/<sid>")
@documented("Sign one of your sessions out, everywhere, at once", responses={204: None})
@require("sessions:write")
def revoke_session(sid: str) -> tuple[str, int]:
    """End one of the caller's sessions (204); 404 if it is not theirs."""
    identity().my_sessions.revoke(_principal().sub, sid, request_meta())
    return "", 204


@bp.post("/sessions/revoke-others")
@documented("Sign out every session but this one", responses={200: RevokedCount})
@require("sessions:write")
def revoke_other_sessions() -> Response:
    """End every session of the caller except the current one; answers how many."""
    principal = _principal()
    count = identity().my_sessions.revoke_others(principal.sub, principal.sid, request_meta())
    return jsonify({"revoked": count})


@bp.get("/me/consents")
@documented(
    "The applications you allowed, and what (remembered consent)", responses={200: ConsentList}
)
@require("sessions:read")
def list_consents() -> Response:
    """The clients the caller allowed, most recently approved first."""
    items = identity().consents.of(_principal().sub)
    return jsonify({"items": [ConsentOut.model_validate(c).model_dump(mode="json") for c in items]})


@bp.delete("/me/consents/<client_id>")
@documented(
    "Take back what you allowed an application; its tokens for you stop working at once",
    responses={204: None},
)
@require("sessions:write")
def revoke_consent(client_id: str) -> tuple[str, int]:
    """Forget the caller's consent to ``client_id`` and end its sessions (204); 404 if none."""
    identity().consents.revoke(_principal().sub, client_id, request_meta())
    return "", 204


@bp.get("/audit")
@documented("The audit log, newest first (admin)", responses={200: AuditPage})
@require("audit:read")
def audit() -> Response:
    """Audit events filtered by user, event and time, newest first, a page at a time."""
    page, per_page = int_arg("page", 1, 1, 100_000), int_arg("per_page", 50, 1, 200)
    rows, total = identity().audit.search(
        user_id=request.args.get("user_id") or None,
        event=request.args.get("event") or None,
        since=time_arg("since"),
        until=time_arg("until"),
        page=page,
        per_page=per_page,
    )
    items = [AuditOut.model_validate(r).model_dump(mode="json") for r in rows]
    return jsonify({"items": items, "total": total, "page": page, "per_page": per_page})
