"""Background jobs: job runs, back-channel logout deliveries, rotation policies, purge indexes.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker", sa.String(length=128), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.create_index("ix_job_runs_job_enqueued", ["job", "enqueued_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_runs_enqueued_at"), ["enqueued_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_runs_status"), ["status"], unique=False)

    op.create_table(
        "backchannel_deliveries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backchannel_deliveries")),
    )
    with op.batch_alter_table("backchannel_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_backchannel_deliveries_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_backchannel_deliveries_status"), ["status"], unique=False
        )

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rotate_before_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rotation_grace_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pending_secret_encrypted", sa.Text(), nullable=True))

    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("backchannel_logout_uri", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("secret_rotation_days", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("secret_rotated_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("pending_secret_encrypted", sa.Text(), nullable=True))

    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_expires_at", ["expires_at"], unique=False)
        batch_op.create_index("ix_sessions_last_seen_at", ["last_seen_at"], unique=False)

    with op.batch_alter_table("refresh_families", schema=None) as batch_op:
        batch_op.create_index("ix_refresh_families_expires_at", ["expires_at"], unique=False)


def downgrade():
    with op.batch_alter_table("refresh_families", schema=None) as batch_op:
        batch_op.drop_index("ix_refresh_families_expires_at")

    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_last_seen_at")
        batch_op.drop_index("ix_sessions_expires_at")

    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.drop_column("pending_secret_encrypted")
        batch_op.drop_column("secret_rotated_at")
        batch_op.drop_column("secret_rotation_days")
        batch_op.drop_column("backchannel_logout_uri")

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("pending_secret_encrypted")
        batch_op.drop_column("rotation_grace_seconds")
        batch_op.drop_column("rotate_before_days")

    with op.batch_alter_table("backchannel_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backchannel_deliveries_status"))
        batch_op.drop_index(batch_op.f("ix_backchannel_deliveries_session_id"))
    op.drop_table("backchannel_deliveries")

    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_runs_status"))
        batch_op.drop_index(batch_op.f("ix_job_runs_enqueued_at"))
        batch_op.drop_index("ix_job_runs_job_enqueued")
    op.drop_table("job_runs")
