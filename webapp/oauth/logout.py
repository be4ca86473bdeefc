"""RP-Initiated Logout 1.0 at ``end_session_endpoint`` (/oauth/logout).

A relying party sends the browser here with an ``id_token_hint`` (validated: an ID token we
issued), and may ask to have it sent back to a ``post_logout_redirect_uri`` (exactly one the
client registered) with its ``state``. With a hint naming the signed-in person the sign-out
happens at once; without one (or naming someone else) the person confirms on a page first.
Ending the sessions goes through ``identity.end_session`` / ``identity.logout``, so every
client the sign-in approved is logged out by back-channel.
"""

from __future__ import annotations

import contextlib
from typing import Any

from authlib.common.urls import add_params_to_uri
from flask import Response, redirect, render_template, request

from webapp.browser import signed_in_user
from webapp.extensions import csrf, identity
from webapp.handoff import top_level_view
from webapp.http import clear_token_cookies, request_meta
from webapp.identity.end_session import LogoutHint
from webapp.identity.errors import IdentityError
from webapp.security import allow_form_action, redirect_origin

from . import bp


class LogoutRefused(Exception):
    """A logout request that cannot be honoured as asked: shown on a page, never redirected."""


def _refused(message: str) -> Response:
    body = render_template(
        "message.html",
        title="This sign-out link is not valid",
        message=message,
        hint="You are still signed in. Go back to the application, or sign out in the portal.",
    )
    return Response(body, status=400)


def _read_request() -> tuple[LogoutHint | None, str | None]:
    """The validated hint and return address; LogoutRefused when either does not hold."""
    raw_hint = (request.values.get("id_token_hint") or "").strip()
    client_id = (request.values.get("client_id") or "").strip() or None
    back = request.values.get("post_logout_redirect_uri") or None
    hint = None
    if raw_hint:
        try:
            hint = identity().end_session.read_hint(raw_hint)
        except IdentityError as exc:
            raise LogoutRefused(exc.detail) from exc
        if client_id is not None and client_id != hint.client_id:
            raise LogoutRefused("client_id is not the client the id_token_hint was issued to.")
        client_id = hint.client_id
    if back is not None:
        client = identity().clients.cached(client_id) if client_id else None
        if client is None or not identity().end_session.may_return_to(client, back):
            raise LogoutRefused(
                "post_logout_redirect_uri is not one this client registered (send client_id "
                "or id_token_hint with it)."
            )
    return hint, back


@bp.route("/logout", methods=["GET", "POST"])
@top_level_view
def end_session() -> Any:
    try:
        hint, back = _read_request()
    except LogoutRefused as exc:
        return _refused(str(exc))
    user, principal = signed_in_user()
    asked_by_rp = hint is not None and (user is None or hint.sub == user.id)
    # The RP may send its request as GET or POST; our confirmation page posts a decision.
    answering = request.method == "POST" and "decision" in request.form
    if not answering and not asked_by_rp and user is not None:
        if back is not None and (origin := redirect_origin(back)) is not None:
            allow_form_action(origin)  # the confirmation's answer redirects there
        return render_template("logout_confirm.html", user=user, action=_action())
    if answering:
        csrf.protect()
        if request.form.get("decision") != "sign_out":
            return render_template(
                "message.html", title="Still signed in", message="You were not signed out."
            )
    meta = request_meta()
    if principal is not None and principal.sid:
        identity().logout(principal.sid, principal.sub, meta)
    if hint is not None and hint.sid:
        # A hint naming a session that is gone or not theirs ends nothing more (end() refuses
        # before it writes anything).
        with contextlib.suppress(IdentityError):
            identity().end_session.end(hint, meta)
    response = _after_logout(back)
    clear_token_cookies(response)
    return response


def _action() -> str:
    """The confirmation form's target: this request's parameters, whether they came in the
    query or (an RP's POST) in the body."""
    if request.method == "GET":
        return request.full_path
    keep = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state")
    params = {k: request.form[k] for k in keep if request.form.get(k)}
    return add_params_to_uri(request.path, params)


def _after_logout(back: str | None) -> Response:
    if back is None:
        return Response(
            render_template("message.html", title="Signed out", message="You are signed out."),
            200,
        )
    state = request.values.get("state")
    location = add_params_to_uri(back, {"state": state}) if state else back
    return redirect(location, 303)  # type: ignore[return-value]
