"""Match seeds as BIGINT: the referee's seeds are unsigned 32-bit, past PostgreSQL's INTEGER

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 13:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sqlite() -> bool:
    # SQLite's INTEGER already holds 64 bits, and changing a declared type there means copying
    # the table, which its foreign keys (games, rating events) forbid on a live database.
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    """Upgrade schema."""
    if _sqlite():
        return
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.alter_column('seed', existing_type=sa.Integer(), type_=sa.BigInteger(),
                              existing_nullable=False)


def downgrade() -> None:
    """Downgrade schema (a seed over 2**31 - 1 cannot go back: such rows block it)."""
    if _sqlite():
        return
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.alter_column('seed', existing_type=sa.BigInteger(), type_=sa.Integer(),
                              existing_nullable=False)
