"""Authorization: organisations, memberships (teams), resource entities and versioned
Cedar policies (schema, policies and template links in one immutable row per version).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id"],
        ["authz_orgs.id"],
        name=op.f(f"fk_{table}_org_id_authz_orgs"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "authz_orgs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authz_orgs")),
    )
    op.create_table(
        "authz_memberships",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        _org_fk("authz_memberships"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_authz_memberships_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", "user_id", "team", name=op.f("pk_authz_memberships")),
    )
    with op.batch_alter_table("authz_memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authz_memberships_user_id"), ["user_id"], unique=False)
    op.create_table(
        "authz_entities",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=200), nullable=False),
        sa.Column("eid", sa.String(length=200), nullable=False),
        sa.Column("attrs", sa.JSON(), nullable=False),
        sa.Column("parents", sa.JSON(), nullable=False),
        _org_fk("authz_entities"),
        sa.PrimaryKeyConstraint("org_id", "type", "eid", name=op.f("pk_authz_entities")),
    )
    op.create_table(
        "authz_policy_versions",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("schema_json", sa.JSON(), nullable=False),
        sa.Column("policies", sa.Text(), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _org_fk("authz_policy_versions"),
        sa.PrimaryKeyConstraint("org_id", "version", name=op.f("pk_authz_policy_versions")),
    )
    _builtin_scopes("add")


# The first-party clients (limen-cli, limen-portal) may ask for every permission a person can
# hold, so the three new ones join their allowed scopes (and leave them on a downgrade).
AUTHZ_SCOPES = ("authz:evaluate", "authz:read", "authz:write")
BUILTIN = ("limen-cli", "limen-portal")


def _builtin_scopes(change: str) -> None:
    clients = sa.table(
        "oauth_clients", sa.column("client_id", sa.String), sa.column("scopes", sa.JSON)
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(clients.c.client_id, clients.c.scopes).where(clients.c.client_id.in_(BUILTIN))
    ).all()
    for client_id, scopes in rows:
        current = [s for s in (scopes or []) if s not in AUTHZ_SCOPES]
        wanted = current + list(AUTHZ_SCOPES) if change == "add" else current
        bind.execute(clients.update().where(clients.c.client_id == client_id).values(scopes=wanted))


def downgrade() -> None:
    _builtin_scopes("remove")
    op.drop_table("authz_policy_versions")
    op.drop_table("authz_entities")
    with op.batch_alter_table("authz_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authz_memberships_user_id"))
    op.drop_table("authz_memberships")
    op.drop_table("authz_orgs")
