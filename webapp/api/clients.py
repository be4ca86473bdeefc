"""/api/v1/clients: OAuth clients, managed by admins."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, jsonify

from webapp.extensions import identity
from webapp.http import current_principal, parse_body, request_meta, require
from webapp.identity.backchannel import validate_backchannel_uri
from webapp.identity.delegation import Holder
from webapp.identity.signing_keys import ALG as ACCESS_ALG
from webapp.identity.signing_keys import ID_TOKEN_ALG
from webapp.models import OAuthClient
from webapp.openapi import documented
from webapp.schemas import (
    ClientCreate,
    ClientIssued,
    ClientList,
    ClientOut,
    ClientRotate,
    ClientSecret,
    ClientSecretPolicy,
)
from webapp.stepup import step_up

from . import bp


def client_out(row: OAuthClient, secret: str | None = None, *, issued: bool = False) -> Any:
    """The client as the API shows it; ``issued`` adds the secret, shown once."""
    data = {
        "client_id": row.client_id,
        "name": row.name,
        "public": row.is_public,
        "trusted": row.is_trusted,
        "introspect": row.may_introspect,
        "grant_types": row.grant_types,
        "scopes": row.scopes,
        "redirect_uris": row.redirect_uris,
        "created_at": row.created_at,
        "previous_secret_expires_at": row.previous_secret_expires_at,
        "backchannel_logout_uri": row.backchannel_logout_uri,
        "secret_rotation_days": row.secret_rotation_days,
        "rotated_secret_ready": row.pending_secret_encrypted is not None,
        "id_token_signed_response_alg": row.id_token_signed_response_alg or ID_TOKEN_ALG,
        "access_token_signed_response_alg": row.access_token_signed_response_alg or ACCESS_ALG,
        "post_logout_redirect_uris": row.post_logout_redirect_uris or [],
        "jwks": row.jwks,
        "require_pushed_authorization_requests": row.require_pushed_authorization_requests,
    }
    model = ClientIssued if issued else ClientOut
    if issued:
        data["client_secret"] = secret
    return model.model_validate(data).model_dump(mode="json")


def _actor() -> str | None:
    principal = current_principal()
    return principal.sub if principal else None


def _holder() -> Holder:
    """The calling credential, as the one handing a client its scopes and rights."""
    principal = current_principal()
    assert principal is not None  # behind require()
    return Holder.of(principal)


@bp.get("/clients")
@documented("List OAuth clients", responses={200: ClientList})
@require("clients:read")
def list_clients() -> Response:
    """Every OAuth client that is not deleted, oldest first."""
    return jsonify({"items": [client_out(c) for c in identity().clients.active()]})


@bp.post("/clients")
@documented(
    "Register an OAuth client; the secret is in this response only",
    body=ClientCreate,
    responses={201: ClientIssued},
)
@require("clients:write")
def create_client() -> tuple[Response, int]:
    """Register a client (201); a confidential client's secret is in this answer only."""
    body = parse_body(ClientCreate)
    if body.backchannel_logout_uri:
        validate_backchannel_uri(body.backchannel_logout_uri)  # refuse before writing anything
    registered = identity().clients.register(
        name=body.name,
        grants=body.grant_types,
        scopes=body.scopes,
        redirect_uris=body.redirect_uris,
        public=body.public,
        trusted=body.trusted,
        introspect=body.introspect,
        id_token_alg=body.id_token_signed_response_alg,
        access_token_alg=body.access_token_signed_response_alg,
        post_logout_redirect_uris=body.post_logout_redirect_uris,
        jwks=body.jwks,
        require_pushed_requests=body.require_pushed_authorization_requests,
        actor=_actor(),
        meta=request_meta(),
        holder=_holder(),
    )
    if body.access_token_signed_response_alg:
        # Published with the client, ahead of its first token (keys exist before they sign).
        identity().keys.ensure_active(body.access_token_signed_response_alg)
    if body.backchannel_logout_uri:
        identity().backchannel.set_uri(
            registered.row.client_id, body.backchannel_logout_uri, actor=_actor()
        )
    return jsonify(client_out(registered.row, registered.secret, issued=True)), 201


@bp.post("/clients/<client_id>/rotate-secret")
@documented(
    "Rotate a client secret; the old one keeps working for the overlap",
    body=ClientRotate,
    responses={201: ClientIssued},
)
@require("clients:write")
@step_up()
def rotate_client_secret(client_id: str) -> tuple[Response, int]:
    """Rotate a client's secret (201); the old one keeps working for ``overlap_seconds``."""
    body = parse_body(ClientRotate, allow_empty=True)
    ident = identity()
    secret = ident.clients.rotate_secret(
        client_id,
        timedelta(seconds=body.overlap_seconds),
        actor=_actor(),
        meta=request_meta(),
        holder=_holder(),
    )
    return jsonify(client_out(ident.clients.require(client_id), secret, issued=True)), 201


@bp.delete("/clients/<client_id>")
@documented("Delete a client: it can no longer get tokens", responses={204: None})
@require("clients:write")
def delete_client(client_id: str) -> tuple[str, int]:
    """Delete a client (204) and revoke every session it holds."""
    ident = identity()
    ident.clients.disable(client_id, actor=_actor(), meta=request_meta())
    ident.revocation.revoke_client(
        client_id, reason="client_deleted", actor=_actor(), meta=request_meta()
    )
    return "", 204


@bp.put("/clients/<client_id>/secret-policy")
@documented(
    "Rotate this client's secret every N days (null: no policy); the new secret waits "
    "for an admin to collect it, the old one keeps its overlap",
    body=ClientSecretPolicy,
    responses={200: ClientOut},
)
@require("clients:write")
def set_client_secret_policy(client_id: str) -> Response:
    """Set (or clear, with null) the scheduled rotation of a client's secret."""
    body = parse_body(ClientSecretPolicy)
    row = identity().credential_rotation.set_client_secret_policy(
        client_id, body.rotation_days, actor=_actor()
    )
    return jsonify(client_out(row))


@bp.post("/clients/<client_id>/collect-secret")
@documented("The secret a scheduled rotation made, returned once", responses={200: ClientSecret})
@require("clients:write")
@step_up()
def collect_client_secret(client_id: str) -> Response:
    """The secret a scheduled rotation made, handed out once (then 404)."""
    secret = identity().credential_rotation.collect_client_secret(
        client_id, actor=_actor(), holder=_holder()
    )
    return jsonify({"client_id": client_id, "client_secret": secret})
