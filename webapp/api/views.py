"""/api/v1 resources."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, current_app, jsonify

from webapp.extensions import identity, limiter
from webapp.http import current_principal, parse_body, request_meta, require, settings
from webapp.identity import FIRST_PARTY_REFRESH
from webapp.identity.delegation import Holder
from webapp.identity.errors import NotFound
from webapp.models import ApiKey, User
from webapp.openapi import build_spec, documented
from webapp.problems import Problem
from webapp.schemas import (
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyList,
    ApiKeyOut,
    ApiKeyPolicy,
    ApiKeyRotate,
    ApiKeySecret,
    MePatch,
    MeResponse,
    MyOrg,
    MyOrgList,
    PasswordChange,
    PasswordChanged,
    ProfileOut,
)

from . import bp


def _principal_user() -> User:
    principal = current_principal()
    assert principal is not None
    user = identity().users.find(principal.sub)
    if user is None or not user.is_active:
        raise NotFound("The account behind this credential no longer exists or is disabled.")
    return user


def _holder(user: User) -> Holder:
    """The calling credential, under its owner's current roles: what it may hand on."""
    principal = current_principal()
    assert principal is not None
    return Holder.of(principal, user.role_names)


def _key_out(row: ApiKey, model: type[ApiKeyOut] = ApiKeyOut, **extra: str) -> dict:
    skip = {"status", "successor_ready"}
    data = {c: getattr(row, c) for c in ApiKeyOut.model_fields if c not in skip}
    data["status"] = identity().api_keys.status(row)
    data["successor_ready"] = row.pending_secret_encrypted is not None
    return model.model_validate({**data, **extra}).model_dump(mode="json")


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document of /api/v1 and /auth."""
    return jsonify(build_spec(current_app))


@bp.get("/me")
@documented("The current principal, whatever credential was used", responses={200: MeResponse})
@require("profile")
def me() -> Response:
    """Who the credential speaks for: subject, roles, scopes and effective permissions."""
    principal = current_principal()
    assert principal is not None
    email, display_name = identity().profile(principal.sub)
    body = MeResponse(
        sub=principal.sub,
        email=email or principal.email,
        display_name=display_name,
        roles=list(principal.roles),
        scopes=sorted(principal.scopes),
        permissions=identity().authz.admin_permissions(principal),
        client_id=principal.client_id,
        session_id=principal.sid,
        auth_method=principal.auth_method,
        credential=principal.credential,
        api_key_id=principal.api_key_id,
        expires_at=principal.expires_at,
        amr=list(principal.amr),
        acr=principal.acr,
        auth_time=principal.auth_time,
        org=principal.org,
    )
    # Serialized by pydantic straight to JSON: this is the hottest endpoint there is.
    return Response(body.model_dump_json(), mimetype="application/json")


@bp.get("/me/orgs")
@documented(
    "The organisations you belong to, and which one this credential acts in",
    responses={200: MyOrgList},
)
@require("profile")
def my_orgs() -> Response:
    """Your memberships with your teams; ``current`` is the token's ``org`` claim."""
    principal = current_principal()
    assert principal is not None
    items = [
        MyOrg(id=org.id, name=org.name, teams=list(teams), current=org.id == principal.org)
        for org, teams in identity().policies.memberships(principal.sub)
    ]
    body = MyOrgList(items=items, current=principal.org)
    return Response(body.model_dump_json(), mimetype="application/json")


def _own_session_user() -> User:
    """The caller, speaking through a session of Limen's own portal or CLI: a name or a
    password is changed by the person, not by an API key or another application's token."""
    principal = current_principal()
    assert principal is not None
    if principal.api_key_id is not None or principal.client_id not in FIRST_PARTY_REFRESH:
        raise Problem(
            403,
            "own-session-required",
            "Only from your own session",
            "Change your name or password from the portal, or with `limen api` while signed "
            "in; API keys and other applications' tokens cannot.",
        )
    return _principal_user()


@bp.patch("/me")
@documented("Change your display name", body=MePatch, responses={200: ProfileOut})
@require("profile")
def patch_me() -> Response:
    """Set the caller's display name (an empty string clears it)."""
    body = parse_body(MePatch)
    user = identity().account_mail.rename(_own_session_user(), body.display_name, request_meta())
    out = ProfileOut(sub=user.id, email=user.email, display_name=user.display_name or "")
    return jsonify(out.model_dump(mode="json"))


@bp.post("/me/password")
@documented(
    "Change your password (the current one is required)",
    body=PasswordChange,
    responses={200: PasswordChanged},
)
@limiter.limit(lambda: settings().ratelimit_login)
@require("profile")
def change_my_password() -> Response:
    """Change the caller's password; optionally sign out every other session of theirs."""
    body = parse_body(PasswordChange)
    principal = current_principal()
    assert principal is not None
    ended = identity().account_mail.change_password(
        _own_session_user(),
        body.current_password,
        body.new_password,
        keep_session=principal.sid,
        end_other_sessions=body.end_other_sessions,
        meta=request_meta(),
    )
    return jsonify({"other_sessions_ended": ended})


@bp.get("/api-keys")
@documented("List your API keys (never their secrets)", responses={200: ApiKeyList})
@require("keys:read")
def list_api_keys() -> Response:
    """The caller's API keys, newest first, with their status."""
    user = _principal_user()
    return jsonify({"items": [_key_out(r) for r in identity().api_keys.list_for(user.id)]})


@bp.post("/api-keys")
@documented(
    "Create an API key; the key is in this response only",
    body=ApiKeyCreate,
    responses={201: ApiKeyIssued},
)
@require("keys:write")
def create_api_key() -> tuple[Response, int]:
    """Create an API key (201); the full key is in this answer only."""
    body = parse_body(ApiKeyCreate)
    user = _principal_user()
    ident = identity()
    issued = ident.api_keys.create(
        user,
        body.name,
        body.scopes,
        body.expiry(ident.clock()),
        request_meta(),
        holder=_holder(user),
    )
    return jsonify(_key_out(issued.row, ApiKeyIssued, key=issued.secret)), 201


@bp.post("/api-keys/<key_id>/rotate")
@documented(
    "Rotate a key: a successor now, the old key valid for a grace period",
    body=ApiKeyRotate,
    responses={201: ApiKeyIssued},
)
@require("keys:write")
def rotate_api_key(key_id: str) -> tuple[Response, int]:
    """Rotate an API key (201): a successor now, the old key works for ``grace_seconds``."""
    body = parse_body(ApiKeyRotate, allow_empty=True)
    user = _principal_user()
    issued = identity().api_keys.rotate(
        user, key_id, timedelta(seconds=body.grace_seconds), request_meta(), holder=_holder(user)
    )
    return jsonify(_key_out(issued.row, ApiKeyIssued, key=issued.secret)), 201


@bp.delete("/api-keys/<key_id>")
@documented("Revoke a key at once", responses={204: None})
@require("keys:write")
def revoke_api_key(key_id: str) -> tuple[str, int]:
    """Revoke one of the caller's API keys (204); 404 if it is not theirs."""
    user = _principal_user()
    identity().api_keys.revoke(user.id, key_id, request_meta())
    return "", 204


@bp.put("/api-keys/<key_id>/rotation-policy")
@documented(
    "Rotate this key automatically some days before it expires (null: no policy)",
    body=ApiKeyPolicy,
    responses={200: ApiKeyOut},
)
@require("keys:write")
def set_api_key_policy(key_id: str) -> Response:
    """Set (or clear) the policy that rotates a key ahead of its expiry."""
    body = parse_body(ApiKeyPolicy)
    user = _principal_user()
    row = identity().credential_rotation.set_api_key_policy(
        user.id, key_id, body.rotate_before_days, body.grace_seconds
    )
    return jsonify(_key_out(row))


@bp.post("/api-keys/<key_id>/collect")
@documented(
    "The secret of a key made by a scheduled rotation, returned once", responses={200: ApiKeySecret}
)
@require("keys:write")
def collect_api_key(key_id: str) -> Response:
    """The successor secret a scheduled rotation made, handed out once (then 404)."""
    user = _principal_user()
    rotation = identity().credential_rotation
    return jsonify({"key": rotation.collect_api_key_secret(user.id, key_id, holder=_holder(user))})
