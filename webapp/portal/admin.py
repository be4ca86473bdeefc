"""Admin pages: users, OAuth clients, signing keys, audit log. Admins only — every action
re-checks its permission on the server; analysts get a 403 page, not just hidden links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import g, request, url_for

from webapp import jobs
from webapp.extensions import identity, jobs_runtime
from webapp.http import FormInvalid, parse_form, request_meta
from webapp.identity import errors as ie
from webapp.identity import rbac
from webapp.identity.clients import GRANT_TYPES, SUPPORTED_SCOPES
from webapp.identity.delegation import Holder
from webapp.identity.users import is_admin_lock
from webapp.schemas import ClientCreate, ClientRotate, UserPatch
from webapp.stepup import demand

from . import bp
from .guards import ask_first, page, render

OVERLAP_CHOICES = [
    ("0", "No overlap"),
    ("3600", "1 hour"),
    ("86400", "1 day"),
    ("604800", "7 days"),
]
GRANTS = list(GRANT_TYPES)
DESTRUCTIVE = {
    "lock": "The person is signed out everywhere at once and cannot sign in until an "
    "administrator unlocks the account.",
    "disable": "The person is signed out everywhere at once, their API keys stop working and "
    "they cannot sign in until the account is enabled again.",
}


def _page_arg() -> int:
    raw = request.values.get("page", "1")
    return max(1, min(int(raw), 100_000)) if raw.isdigit() else 1


# -- users --------------------------------------------------------------------------------
def users_page(message: str | None = None, error: str | None = None, status: int = 200) -> Any:
    q = request.values.get("q", "").strip()[:200]
    result = identity().users.search(q, _page_arg(), 20)
    return render(
        "admin_users.html",
        "users",
        result=result,
        q=q,
        message=message,
        error=error,
        now=identity().clock(),
        is_admin_lock=is_admin_lock,
        roles=rbac.PERSON_ROLES,
    ), status


@bp.get("/admin/users")
@page("users:read")
def admin_users() -> Any:
    return users_page()


@bp.post("/admin/users/<user_id>/<action>")
@page("users:write")
def admin_user_action(user_id: str, action: str) -> Any:
    users, actor, meta = identity().users, g.user.id, request_meta()
    try:
        target = users.get(user_id)
        roles_before = set(target.role_names)
        back = url_for("portal.admin_users", q=request.form.get("q") or None)
        if action in DESTRUCTIVE and (
            asked := ask_first(DESTRUCTIVE[action], action.title(), back)
        ):
            return asked
        if action == "roles":
            # A sensitive action: a recent sign-in, else sign in again and come back here.
            demand(back=url_for("portal.admin_users"))
            patch = parse_form(UserPatch, {"roles": request.form.getlist("roles")})
            users.set_roles(
                user_id,
                patch.roles or [],
                actor=actor,
                holder=Holder.of(g.principal, g.user.role_names),
                meta=meta,
            )
        elif action == "lock":
            users.lock(user_id, actor=actor, meta=meta)
        elif action == "unlock":
            users.unlock(user_id, actor=actor, meta=meta)
        elif action in ("disable", "enable"):
            users.set_active(user_id, action == "enable", actor=actor, meta=meta)
        elif action == "send-reset":
            if identity().outbox.delivery == "off":
                return users_page(error="Limen sends no mail: set LIMEN_SMTP_URL.", status=409)
            if not identity().account_mail.request_reset(target.email, actor=actor):
                return users_page(error=f"{target.email} has no password to reset.", status=400)
        else:
            return users_page(error=f"Unknown action {action!r}.", status=404)
    except FormInvalid as exc:
        return users_page(error=exc.message, status=400)
    except (ie.PolicyViolation, ie.NotFound, ie.PermissionDenied) as exc:
        return users_page(error=exc.detail, status=400)
    past = {
        "roles": "Roles changed for",
        "lock": "Locked",
        "unlock": "Unlocked",
        "disable": "Disabled",
        "enable": "Enabled",
        "send-reset": "Sent a password reset link to",
    }[action]
    if action == "roles" and set(target.role_names) != roles_before:
        ended = " Their sessions were ended, so the change holds at once."
        return users_page(message=f"{past} {target.email}.{ended}")
    return users_page(message=f"{past} {target.email}.")


# -- OAuth clients ------------------------------------------------------------------------
def clients_page(
    *, issued: Any = None, secret: str | None = None, error: str | None = None, status: int = 200
) -> Any:
    return render(
        "admin_clients.html",
        "clients",
        clients=identity().clients.active(),
        issued=issued,
        secret=secret,
        error=error,
        grants=GRANTS,
        overlap_choices=OVERLAP_CHOICES,
        scopes=sorted(SUPPORTED_SCOPES),
    ), status


@bp.get("/admin/clients")
@page("clients:read")
def admin_clients() -> Any:
    return clients_page()


@bp.post("/admin/clients")
@page("clients:write")
def admin_create_client() -> Any:
    """Register a client from the form, checked by the API's own model."""
    form = request.form
    fields: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "grant_types": form.getlist("grants"),
        "scopes": form.getlist("scopes"),
        "redirect_uris": [
            u.strip() for u in form.get("redirect_uris", "").splitlines() if u.strip()
        ],
    }
    fields |= {k: v for k, v in form.items() if k in ("public", "trusted")}  # checked: "on"
    try:
        body = parse_form(ClientCreate, fields)
        registered = identity().clients.register(
            name=body.name,
            grants=body.grant_types,
            scopes=body.scopes,
            redirect_uris=body.redirect_uris,
            public=body.public,
            trusted=body.trusted,
            actor=g.user.id,
            meta=request_meta(),
            holder=Holder.of(g.principal, g.user.role_names),
        )
    except FormInvalid as exc:
        return clients_page(error=exc.message, status=400)
    except (ie.PolicyViolation, ie.Conflict, ie.PermissionDenied) as exc:
        return clients_page(error=exc.detail, status=400)
    return clients_page(issued=registered.row, secret=registered.secret)


@bp.post("/admin/clients/<client_id>/rotate")
@page("clients:write")
def admin_rotate_client(client_id: str) -> Any:
    """Rotate a client's secret; the overlap is checked by the API's own model."""
    demand(back=url_for("portal.admin_clients"))
    overlap = {k: v for k, v in request.form.items() if k == "overlap_seconds"}
    try:
        body = parse_form(ClientRotate, overlap)  # absent: the API's default overlap
        secret = identity().clients.rotate_secret(
            client_id,
            timedelta(seconds=body.overlap_seconds),
            actor=g.user.id,
            meta=request_meta(),
            holder=Holder.of(g.principal, g.user.role_names),
        )
    except FormInvalid as exc:
        return clients_page(error=exc.message, status=400)
    except (ie.PolicyViolation, ie.NotFound, ie.PermissionDenied) as exc:
        return clients_page(error=exc.detail, status=400)
    return clients_page(issued=identity().clients.get(client_id), secret=secret)


@bp.post("/admin/clients/<client_id>/delete")
@page("clients:write")
def admin_delete_client(client_id: str) -> Any:
    what = "The client can no longer sign anyone in, and every token it holds stops working."
    if asked := ask_first(what, "Delete the client", url_for("portal.admin_clients")):
        return asked
    ident = identity()
    try:
        ident.clients.disable(client_id, actor=g.user.id, meta=request_meta())
    except (ie.PolicyViolation, ie.NotFound) as exc:
        return clients_page(error=exc.detail, status=400)
    ident.revocation.revoke_client(
        client_id, reason="client_deleted", actor=g.user.id, meta=request_meta()
    )
    return clients_page()


# -- signing keys and jobs --------------------------------------------------------------
def signing_keys_page(message: str | None = None, error: str | None = None) -> Any:
    overview = jobs.overview(jobs_runtime())
    maintain = next((e for e in overview["schedule"] if e["job"] == "keys.maintain"), None)
    return render(
        "admin_signing_keys.html",
        "signing_keys",
        keys=overview["signing_keys"],
        message=message,
        error=error,
        rotation_days=overview["settings"]["key_rotation_days"],
        maintain=maintain,
    )


@bp.get("/admin/signing-keys")
@page("signing-keys:write")
def admin_signing_keys() -> Any:
    return signing_keys_page()


@bp.post("/admin/signing-keys/rotate")
@page("signing-keys:write")
def admin_rotate_keys() -> Any:
    demand(back=url_for("portal.admin_signing_keys"))
    emergency = request.form.get("emergency") == "on"
    what = (
        "The current signing key stops verifying at once: every session that holds a token "
        "it signed is ended, and those people and programs must sign in again."
    )
    back = url_for("portal.admin_signing_keys")
    if emergency and (asked := ask_first(what, "Rotate now and end those sessions", back)):
        return asked
    try:
        jobs.enqueue_key_rotation(jobs_runtime(), now=emergency, actor=g.user.id)
    except Exception as exc:  # the queue is down: say so, change nothing
        return signing_keys_page(
            error=f"The rotation could not be queued ({type(exc).__name__}); try again shortly."
        )
    if emergency:
        return signing_keys_page(
            message="Emergency rotation done: the old key no longer "
            "verifies and the sessions that held its tokens were ended."
        )
    return signing_keys_page(
        message="Rotation queued: the new key is published now and starts "
        "signing after the JWKS cache lifetime."
    )


@bp.get("/admin/jobs")
@page("jobs:read")
def admin_jobs() -> Any:
    return render("admin_jobs.html", "jobs", overview=jobs.overview(jobs_runtime()), message=None)


@bp.post("/admin/jobs/<run_id>/retry")
@page("jobs:write")
def admin_retry_job(run_id: str) -> Any:
    try:
        jobs.retry_run(jobs_runtime(), run_id, actor=g.user.id)
        message = "Queued again."
    except Exception as exc:  # unknown run, or the queue is down
        message = f"Could not retry: {exc}"
    return render(
        "admin_jobs.html", "jobs", overview=jobs.overview(jobs_runtime()), message=message
    )


# -- audit --------------------------------------------------------------------------------
@bp.get("/admin/audit")
@page("audit:read")
def admin_audit() -> Any:
    email = request.args.get("user", "").strip()[:320]
    event = request.args.get("event", "").strip()[:64]
    day = request.args.get("day", "").strip()[:10]
    user_id, since, until, error = None, None, None, None
    if email:
        found = identity().accounts.find(email)
        user_id = found.id if found else "-"
    if day:
        try:
            since = datetime.fromisoformat(day).replace(tzinfo=UTC)
            until = since + timedelta(days=1)
        except ValueError:
            error = "Pick a day as YYYY-MM-DD."
    rows, total = identity().audit.search(
        user_id=user_id,
        event=event or None,
        since=since,
        until=until,
        page=_page_arg(),
        per_page=25,
    )
    emails = identity().users.emails(r.user_id for r in rows if r.user_id)
    pages = max(1, -(-total // 25))
    return render(
        "admin_audit.html",
        "events",
        rows=rows,
        total=total,
        page=_page_arg(),
        pages=pages,
        emails=emails,
        filters={"user": email, "event": event, "day": day},
        error=error,
    )
