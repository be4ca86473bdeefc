"""The /api/v1 blueprint: JSON resources, problem+json errors, the version header."""

from __future__ import annotations

from flask import Blueprint, Response, request

from webapp.errors import register_json_errors
from webapp.openapi import API_VERSION
from webapp.problems import Problem

SUPPORTED_VERSIONS = (API_VERSION,)
bp = Blueprint("api", __name__, url_prefix="/api/v1")
register_json_errors(bp)


@bp.before_request
def _check_version() -> None:
    asked = request.headers.get("Limen-API-Version")
    if asked is not None and asked.strip() not in SUPPORTED_VERSIONS:
        raise Problem(
            400,
            "unsupported-api-version",
            "Unsupported API version",
            f"Limen-API-Version {asked[:16]!r} is not supported; supported: "
            f"{', '.join(SUPPORTED_VERSIONS)}.",
            supported=list(SUPPORTED_VERSIONS),
        )


@bp.after_request
def _version_header(response: Response) -> Response:
    response.headers["Limen-API-Version"] = API_VERSION
    return response


from . import clients, jobs, orgs, people, views  # noqa: E402,F401  (routes register on bp)
