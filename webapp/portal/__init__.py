"""The portal blueprint: server-rendered pages on the same origin as the API."""

from __future__ import annotations

from flask import Blueprint

from webapp.errors import register_html_errors

bp = Blueprint("portal", __name__)
register_html_errors(bp)

from . import access, admin, apps, filters, keys, mail, mfa, passkeys, policies, views  # noqa: E402,F401  (routes register on bp)
