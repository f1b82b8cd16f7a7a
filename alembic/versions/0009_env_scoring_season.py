"""Per-environment scoring season: solo versions are scored on the season's secret seeds

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema (every environment starts in season 1)."""
    with op.batch_alter_table('env_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('season', sa.Integer(), server_default='1', nullable=False))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('env_state', schema=None) as batch_op:
        batch_op.drop_column('season')
