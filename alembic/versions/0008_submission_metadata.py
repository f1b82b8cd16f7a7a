"""Agent metadata per version: the algorithm, a description and a link to the source

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 16:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('algorithm', sqlmodel.sql.sqltypes.AutoString(length=40),
                                      nullable=True))
        batch_op.add_column(sa.Column('description',
                                      sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
        batch_op.add_column(sa.Column('source_url', sqlmodel.sql.sqltypes.AutoString(length=300),
                                      nullable=True))


def downgrade() -> None:
    """Downgrade schema (the metadata is lost)."""
    # Not in a batch: on SQLite a batch copies the table, which the rows pointing at submissions
    # (games, rating events) forbid on a live database; ALTER TABLE ... DROP COLUMN (SQLite
    # 3.35+) drops these plain columns in place.
    for column in ('source_url', 'description', 'algorithm'):
        op.drop_column('submissions', column)
