"""Promotion gates: every move of a candidate, with its evidence (issue 19).

Spelt out rather than imported from ``tables.py``, like revision 0001, so
this revision keeps creating the same table after the models move on.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``candidate_transitions`` and its indexes."""
    op.create_table(
        "candidate_transitions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("candidate_id", sa.String(length=128), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=True),
        sa.Column("target", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(none_as_null=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_candidate_transitions")),
        sa.UniqueConstraint(
            "candidate_id", "seq", name=op.f("uq_candidate_transitions_candidate_id_seq")
        ),
    )
    op.create_index(
        op.f("ix_candidate_transitions_candidate_id"), "candidate_transitions", ["candidate_id"]
    )
    op.create_index(op.f("ix_candidate_transitions_run_id"), "candidate_transitions", ["run_id"])


def downgrade() -> None:
    """Drop ``candidate_transitions``."""
    op.drop_index(op.f("ix_candidate_transitions_run_id"), table_name="candidate_transitions")
    op.drop_index(op.f("ix_candidate_transitions_candidate_id"), table_name="candidate_transitions")
    op.drop_table("candidate_transitions")
