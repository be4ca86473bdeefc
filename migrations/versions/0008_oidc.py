"""OpenID Connect: the approving session's authentication context (amr, acr) and id on
authorization and device codes, so tokens and ID tokens carry how the person signed in; each
client's ID token signing algorithm (id_token_signed_response_alg); and on each session the
sign-in session that approved it, so ending that one ends (and logs out) the clients' too.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("oauth_authorization_codes", "oauth_device_codes")


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("auth_session_id", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_sessions_auth_session_id"), ["auth_session_id"], unique=False
        )
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("id_token_signed_response_alg", sa.String(length=16), nullable=True)
        )
        batch_op.add_column(sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=True))
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("amr", sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column("acr", sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column("auth_session_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_auth_session_id"))
        batch_op.drop_column("auth_session_id")
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.drop_column("post_logout_redirect_uris")
        batch_op.drop_column("id_token_signed_response_alg")
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("auth_session_id")
            batch_op.drop_column("acr")
            batch_op.drop_column("amr")
