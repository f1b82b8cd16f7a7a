"""Reasons and log tails that quoted pip's raw output are replaced: before 0007 a requirement such
as six===${RL_ARENA_SECRET_KEY} made pip print a setting's value there

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# How the old builds began what went on with pip's own lines: the submitter's fault, and the
# platform's (whose reason keeps its start: `requeue-failed` builds those again).
AGENT_FAULT = "requirements.txt cannot be installed as binary wheels for Python %"
PLATFORM_FAULT = "%installing the agent's requirements failed:%"
# Today's summaries begin like the old agent faults, then name the platform: they stay.
SUMMARY = "requirements.txt cannot be installed as binary wheels for Python % on Linux %"
SCRUBBED = ("requirements.txt could not be installed (pip's message was removed by an upgrade: "
            "submit the agent again to see what to fix)")
PLATFORM_SCRUBBED = ("the platform could not build or run it (not your agent's fault): "
                     "installing the agent's requirements failed (pip's message was removed by "
                     "an upgrade); submit it again later")
_submissions = sa.table("submissions", sa.column("reason", sa.String()),
                        sa.column("log_tail", sa.String()))
_events = sa.table("submission_events", sa.column("reason", sa.String()))


def _scrub(table: sa.TableClause, pattern: str, replacement: str) -> None:
    columns = [table.c.reason] + ([table.c.log_tail] if "log_tail" in table.c else [])
    values = {"reason": replacement} | ({"log_tail": None} if len(columns) > 1 else {})
    quoting = [sa.and_(c.like(pattern), sa.not_(c.like(SUMMARY))) for c in columns]
    op.execute(table.update().where(sa.or_(*quoting)).values(**values))


def upgrade() -> None:
    for table in (_submissions, _events):
        _scrub(table, PLATFORM_FAULT, PLATFORM_SCRUBBED)
        _scrub(table, AGENT_FAULT, SCRUBBED)


def downgrade() -> None:
    """What pip printed is gone for good: nothing to restore."""
