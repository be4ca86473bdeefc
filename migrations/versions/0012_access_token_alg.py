"""Per-client access-token signing algorithm (access_token_signed_response_alg, a Limen
extension like Keycloak's): ES256 when null.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch_op:
        batch_op.add_column(
            sa.Column("access_token_signed_response_alg", sa.String(length=16), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch_op:
        batch_op.drop_column("access_token_signed_response_alg")
