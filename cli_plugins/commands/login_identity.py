"""Who new credentials belong to, asked to the server right after a login: the subject and
e-mail, the session, and the OAuth client they were issued to; with --user, anyone else is
refused (and their session revoked)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ..credentials import Credentials
from ..errors import LimenError
from ..oauth import get_json
from .logout import revoke_credentials

if TYPE_CHECKING:
    from ..runtime import Runtime


def confirm_identity(rt: Runtime, creds: Credentials, user: str | None) -> None:
    """Who the new credentials belong to; with --user, refuse (and revoke) anyone else."""
    identify(rt, creds)
    if user and (creds.email or "").lower() != user.lower():
        discard(rt, creds)
        raise LimenError(
            f"You signed in as {creds.email or creds.subject}, but --user asked for {user}; "
            "nothing was saved.",
            "Sign out in the browser (or use a private window) and run `limen login` again.",
        )


def identify(rt: Runtime, creds: Credentials) -> None:
    """Ask the server who the new credentials belong to (the subject check relies on it) and
    which client they were issued to (refresh and logout must use that client)."""
    me = get_json(rt.http, rt.api_url("me"), creds.access_token, rt.settings.server)
    creds.subject = str(me.get("sub") or "") or creds.subject
    creds.email = me.get("email") or creds.email
    creds.session_id = creds.session_id or me.get("session_id")
    issued_to = me.get("client_id")
    if issued_to and creds.client_id and issued_to != creds.client_id:
        rt.console.warn(
            f"The {creds.provider!r} provider says these tokens belong to the client "
            f"{creds.client_id!r}, but the server issued them to {issued_to!r}; using that."
        )
    creds.client_id = str(issued_to) if issued_to else creds.client_id
    if creds.expires_at is None and me.get("expires_at"):
        creds.expires_at = datetime.fromisoformat(
            str(me["expires_at"]).replace("Z", "+00:00")
        ).timestamp()


def discard(rt: Runtime, creds: Credentials) -> None:
    """Revoke credentials nobody wanted (best effort: a failure is only a warning)."""
    try:
        revoke_credentials(rt, creds)
    except LimenError as exc:
        rt.console.warn(f"Could not revoke the unwanted session: {exc.message}")
