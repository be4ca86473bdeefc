"""The /oauth blueprint. For now: the JWKS that resource servers verify access tokens with."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from webapp.errors import register_json_errors
from webapp.extensions import identity

bp = Blueprint("oauth", __name__, url_prefix="/oauth")
register_json_errors(bp)

JWKS_MAX_AGE = 300  # a key is published at least this long before it signs (see jobs)


@bp.get("/jwks")
def jwks() -> Response:
    response = jsonify(identity().keys.jwks())
    response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    return response
