"""The organisation a sign-in asked to act in (``organization`` on /oauth/authorize), carried
by the authorization code to the session its exchange starts (the access token's ``org``).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_authorization_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("org", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_authorization_codes", schema=None) as batch_op:
        batch_op.drop_column("org")
