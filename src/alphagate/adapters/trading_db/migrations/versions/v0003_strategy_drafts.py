"""Strategy drafts: strategies a model wrote from a document, and each of their attempts (issue 23).

Spelt out rather than imported from ``tables.py``, like the revisions before
it, so it keeps creating the same tables after the models move on.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``strategies`` and ``strategy_validations`` with their indexes."""
    op.create_table(
        "strategies",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source_hash", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("code_path", sa.Text(), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("class_name", sa.String(length=128), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("run_ids", sa.JSON(), nullable=False),
        sa.Column("ts_created", sa.BigInteger(), nullable=False),
        sa.Column("ts_updated", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_strategies")),
    )
    op.create_index(op.f("ix_strategies_status"), "strategies", ["status"])
    op.create_table(
        "strategy_validations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=128), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("metrics", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["name"], ["strategies.name"], name=op.f("fk_strategy_validations_name_strategies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategy_validations")),
        sa.UniqueConstraint("name", "attempt", name=op.f("uq_strategy_validations_name_attempt")),
    )
    op.create_index(op.f("ix_strategy_validations_name"), "strategy_validations", ["name"])
    op.create_index(op.f("ix_strategy_validations_run_id"), "strategy_validations", ["run_id"])


def downgrade() -> None:
    """Drop ``strategy_validations`` and ``strategies``."""
    op.drop_index(op.f("ix_strategy_validations_run_id"), table_name="strategy_validations")
    op.drop_index(op.f("ix_strategy_validations_name"), table_name="strategy_validations")
    op.drop_table("strategy_validations")
    op.drop_index(op.f("ix_strategies_status"), table_name="strategies")
    op.drop_table("strategies")
