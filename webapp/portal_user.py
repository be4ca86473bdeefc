"""flask-login wiring: its request_loader is the same ``authenticate()`` every door uses."""

from __future__ import annotations

from flask import Flask
from flask_login import UserMixin

from webapp.extensions import login_manager
from webapp.identity import Principal
from webapp.identity.errors import IdentityError
from webapp.problems import Problem


class PrincipalUser(UserMixin):
    """What ``flask_login.current_user`` is for a signed-in request: a view of the Principal."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    def get_id(self) -> str:
        return self.principal.sub


def init_app(app: Flask) -> None:
    @login_manager.request_loader
    def _load(_request: object) -> PrincipalUser | None:
        from webapp.http import current_principal

        try:
            principal = current_principal(optional=True)
        except (IdentityError, Problem):  # a rejected or malformed credential: nobody
            return None
        return PrincipalUser(principal) if principal else None

    @login_manager.user_loader
    def _never(_user_id: str) -> None:
        return None  # no server-side login sessions: every request re-authenticates
