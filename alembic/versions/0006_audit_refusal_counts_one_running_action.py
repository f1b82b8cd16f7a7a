"""Audit log: refusals counted on one row per actor, action and window; one running long action
per action and target

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from alembic import op

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNNING = sa.text("outcome = 'running'")
_audit = sa.table("audit_log", sa.column("id", sa.Integer()), sa.column("action", sa.String()),
                  sa.column("target", sa.String()), sa.column("outcome", sa.String()),
                  sa.column("detail", sa.String()),
                  sa.column("finished_at", sa.DateTime(timezone=True)))


def _stop_duplicate_running_actions() -> None:
    """Of several running entries of one action and target (double clicks before this
    revision), the oldest keeps running; the others are marked failed, so that the unique
    index can be made (their jobs then find them finished and do nothing)."""
    oldest = (sa.select(sa.func.min(_audit.c.id)).where(_audit.c.outcome == "running")
              .group_by(_audit.c.action, _audit.c.target))
    op.execute(_audit.update()
               .where(_audit.c.outcome == "running", _audit.c.id.not_in(oldest))
               .values(outcome="failed", finished_at=datetime.now(UTC),
                       detail="stopped: the same action was already running (a double start)"))


def upgrade() -> None:
    """Upgrade schema."""
    _stop_duplicate_running_actions()
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('count', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('last_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('window_start', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ux_audit_log_refusals', ['actor', 'action', 'window_start'],
                              unique=True)
        batch_op.create_index('ux_audit_log_running', ['action', 'target'], unique=True,
                              sqlite_where=RUNNING, postgresql_where=RUNNING)


def downgrade() -> None:
    """Downgrade schema (counted refusals stay as one row each, their count dropped)."""
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ux_audit_log_running', sqlite_where=RUNNING,
                            postgresql_where=RUNNING)
        batch_op.drop_index('ux_audit_log_refusals')
        batch_op.drop_column('window_start')
        batch_op.drop_column('last_at')
        batch_op.drop_column('count')
