"""First-run seeding for the dev server."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from webapp.extensions import db, identity
from webapp.models import Role, User, UserRole

FIRST_ADMIN_EMAIL = "admin@example.com"


def ensure_first_admin() -> tuple[str, str] | None:
    """Create an admin with a random password if there is none; return it once."""
    has_admin = db.session.scalar(
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .join(Role, Role.id == UserRole.role_id)
        .where(Role.name == "admin")
        .limit(1)
    )
    if has_admin is not None:
        return None
    password = secrets.token_urlsafe(18)
    identity().accounts.create_user(
        FIRST_ADMIN_EMAIL, password, roles=("admin",), display_name="First admin", actor="bootstrap"
    )
    db.session.commit()
    return FIRST_ADMIN_EMAIL, password
