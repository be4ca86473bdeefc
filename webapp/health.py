"""Liveness and readiness."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from webapp.extensions import db, redis_store

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; say which
        db.session.rollback()
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        redis_store.client.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"unreachable: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    response = jsonify({"status": "ready" if ready else "not ready", "checks": checks})
    if not ready:
        response.headers["Retry-After"] = "5"
    return response, 200 if ready else 503
