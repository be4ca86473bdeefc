"""OpenID Connect authentication context: the approving session's amr/acr and id on
authorization and device codes, so tokens and ID tokens carry how the person signed in.

Revision ID: 0008
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("oauth_authorization_codes", "oauth_device_codes")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("amr", sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column("acr", sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column("auth_session_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("auth_session_id")
            batch_op.drop_column("acr")
            batch_op.drop_column("amr")
