"""OAuth authorization and device codes, client secret rotation, the built-in clients.

Revision ID: 0002
Revises: 0001
"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# Frozen here on purpose: a migration must not change when the code's scope list does.
BUILTIN_SCOPES = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "keys:read",
    "keys:write",
    "sessions:read",
    "sessions:write",
    "users:read",
    "users:write",
    "clients:read",
    "clients:write",
    "audit:read",
    "jobs:read",
    "jobs:write",
    "signing-keys:write",
]


# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "oauth_authorization_codes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("nonce", sa.String(length=255), nullable=True),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("code_challenge_method", sa.String(length=16), nullable=False),
        sa.Column("auth_time", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_oauth_authorization_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_authorization_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_oauth_authorization_codes_code_hash")),
    )
    with op.batch_alter_table("oauth_authorization_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oauth_authorization_codes_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_oauth_authorization_codes_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "oauth_device_codes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("device_code_hash", sa.String(length=64), nullable=False),
        sa.Column("user_code", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("auth_time", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_oauth_device_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_device_codes")),
        sa.UniqueConstraint(
            "device_code_hash", name=op.f("uq_oauth_device_codes_device_code_hash")
        ),
        sa.UniqueConstraint("user_code", name=op.f("uq_oauth_device_codes_user_code")),
    )
    with op.batch_alter_table("oauth_device_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oauth_device_codes_expires_at"), ["expires_at"], unique=False
        )

    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("previous_secret_digest", sa.String(length=255), nullable=True)
        )
        batch_op.add_column(
            sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True)
        )

    clients = sa.table(
        "oauth_clients",
        sa.column("id", sa.String),
        sa.column("client_id", sa.String),
        sa.column("name", sa.String),
        sa.column("is_public", sa.Boolean),
        sa.column("is_trusted", sa.Boolean),
        sa.column("redirect_uris", sa.JSON),
        sa.column("grant_types", sa.JSON),
        sa.column("scopes", sa.JSON),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        clients,
        [
            {
                "id": str(uuid.uuid4()),
                "client_id": "limen-cli",
                "name": "Limen CLI",
                "is_public": True,
                "is_trusted": True,
                "redirect_uris": ["http://127.0.0.1/callback", "http://[::1]/callback"],
                "grant_types": ["authorization_code", DEVICE_GRANT, "refresh_token"],
                "scopes": BUILTIN_SCOPES,
                "created_at": now,
            },
            {
                "id": str(uuid.uuid4()),
                "client_id": "limen-portal",
                "name": "Limen portal",
                "is_public": True,
                "is_trusted": True,
                "redirect_uris": [],
                "grant_types": ["refresh_token"],
                "scopes": BUILTIN_SCOPES,
                "created_at": now,
            },
        ],
    )


def downgrade():
    op.execute("DELETE FROM oauth_clients WHERE client_id IN ('limen-cli', 'limen-portal')")
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.drop_column("previous_secret_expires_at")
        batch_op.drop_column("previous_secret_digest")

    with op.batch_alter_table("oauth_device_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_device_codes_expires_at"))

    op.drop_table("oauth_device_codes")
    with op.batch_alter_table("oauth_authorization_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_authorization_codes_user_id"))
        batch_op.drop_index(batch_op.f("ix_oauth_authorization_codes_expires_at"))

    op.drop_table("oauth_authorization_codes")
