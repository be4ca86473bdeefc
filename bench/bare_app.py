"""The framework's floor: a bare Flask app with one JSON endpoint, nothing else (no hooks,
no extensions). Row 0 serves it with granian exactly as Limen is served and divides."""

from __future__ import annotations

from flask import Flask, Response, jsonify

app = Flask("bare")


@app.get("/healthz")
def healthz() -> Response:
    """The same body as Limen's liveness answer."""
    return jsonify({"status": "ok"})
