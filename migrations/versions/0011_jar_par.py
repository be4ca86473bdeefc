"""JAR and PAR: each client's registered public keys (jwks) and its require-PAR flag.

RFC 9101 signed request objects are verified with the client's ``jwks``; with
``require_pushed_authorization_requests`` its authorization requests must be pushed (RFC 9126).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("jwks", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "require_pushed_authorization_requests",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.drop_column("require_pushed_authorization_requests")
        batch_op.drop_column("jwks")
