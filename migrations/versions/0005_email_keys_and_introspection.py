"""Addresses compared in normalised form (users.email_normalized, unique); clients that may
introspect any token (oauth_clients.may_introspect).

Existing accounts get their key (Unicode NFKC, lower case, IDNA domain). Where two existing
accounts share a key (a look-alike registered before this revision), the oldest keeps it and
the others are left without one: they still sign in with their exact address, no new account
can take the key, and each collision is reported (the migration's log and an audit event
``user.email_collision``) for an administrator to resolve. The migration never fails on them.

Revision ID: 0005
Revises: 0004
"""

import contextlib
import logging
import unicodedata
from datetime import UTC, datetime

import idna
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def email_key(email: str) -> str:
    """The comparison key, as webapp.identity.emails computes it (frozen here)."""
    text = unicodedata.normalize("NFKC", email).strip()
    local, _, domain = text.rpartition("@")
    domain = domain.rstrip(".").lower()
    # a domain IDNA refuses is kept as typed: it cannot collide with a valid one anyway
    with contextlib.suppress(idna.IDNAError, UnicodeError):
        domain = idna.encode(domain, uts46=True).decode("ascii")
    return f"{local.lower()}@{domain}"


def fill_keys(conn: sa.Connection) -> list[tuple[str, str, str]]:
    """Give every account its key, oldest first; (user id, email, holder's id) per collision."""
    users = conn.execute(sa.text("SELECT id, email FROM users ORDER BY created_at, id")).fetchall()
    owners: dict[str, str] = {}
    collisions = []
    for user_id, email in users:
        key = email_key(email)
        if key in owners:
            collisions.append((user_id, email, owners[key]))
            continue
        owners[key] = user_id
        conn.execute(
            sa.text("UPDATE users SET email_normalized = :key WHERE id = :id"),
            {"key": key, "id": user_id},
        )
    return collisions


def report(conn: sa.Connection, collisions: list[tuple[str, str, str]]) -> None:
    audit = sa.table(
        "audit_events",
        sa.column("occurred_at", sa.DateTime(timezone=True)),
        sa.column("event", sa.String),
        sa.column("outcome", sa.String),
        sa.column("user_id", sa.String),
        sa.column("actor", sa.String),
        sa.column("details", sa.JSON),
    )
    now = datetime.now(UTC)
    for user_id, email, holder in collisions:
        log.warning(
            "users.email_normalized: account %s (%s) looks like account %s's address; it keeps "
            "signing in with its exact address but has no key. Resolve it: disable one, or "
            "change an address.",
            user_id,
            email,
            holder,
        )
        conn.execute(
            audit.insert().values(
                occurred_at=now,
                event="user.email_collision",
                outcome="failure",
                user_id=user_id,
                actor="migration:0005",
                details={"email": email, "collides_with": holder},
            )
        )
    if collisions:
        log.warning("users.email_normalized: %d look-alike account(s) reported", len(collisions))


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_normalized", sa.String(length=320), nullable=True))
    conn = op.get_bind()
    report(conn, fill_keys(conn))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_users_email_normalized"), ["email_normalized"]
        )
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("may_introspect", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.drop_column("may_introspect")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_email_normalized"), type_="unique")
        batch_op.drop_column("email_normalized")
