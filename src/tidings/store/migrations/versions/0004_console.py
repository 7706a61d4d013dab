"""Console operators, the workspaces granted to them, their sessions and failed sign-ins.

Revision ID: 0004_console
Revises: 0002
Create Date: 2026-11-27 03:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_console"
down_revision = "0002"
branch_labels = None
depends_on = None

Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("pk", Serial, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("all_workspaces", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_operators")),
        sa.UniqueConstraint("username", name=op.f("uq_operators_username")),
    )
    op.create_table(
        "operator_workspaces",
        sa.Column("operator_pk", Serial, nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_pk"],
            ["operators.pk"],
            name=op.f("fk_operator_workspaces_operator_pk_operators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("operator_pk", "workspace", name=op.f("pk_operator_workspaces")),
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("operator_pk", Serial, nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_pk"],
            ["operators.pk"],
            name=op.f("fk_console_sessions_operator_pk_operators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_console_sessions")),
    )
    op.create_index(
        op.f("ix_console_sessions_expires_at"), "console_sessions", ["expires_at"], unique=False
    )
    op.create_table(
        "console_login_failures",
        sa.Column("pk", Serial, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_console_login_failures")),
    )
    op.create_index(
        op.f("ix_console_login_failures_username_at"),
        "console_login_failures",
        ["username", "at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_console_login_failures_address_at"),
        "console_login_failures",
        ["address", "at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("console_login_failures")
    op.drop_table("console_sessions")
    op.drop_table("operator_workspaces")
    op.drop_table("operators")
