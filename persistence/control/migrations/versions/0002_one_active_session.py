"""One active session per database, held by the database itself: `active_slot` is 1 while a session starts, runs or
stops and NULL after; a unique index on it refuses a second (two servers on one PostgreSQL included).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("strategy_session") as table:
        table.add_column(sa.Column("active_slot", sa.Integer(), nullable=True))
    op.execute("UPDATE strategy_session SET active_slot = 1 WHERE status IN ('starting', 'running', 'stopping') "
               "AND id = (SELECT id FROM strategy_session WHERE status IN ('starting', 'running', 'stopping') "
               "ORDER BY started_at DESC LIMIT 1)")
    op.create_index("one_active_session", "strategy_session", ["active_slot"], unique=True)


def downgrade() -> None:
    op.drop_index("one_active_session", "strategy_session")
    with op.batch_alter_table("strategy_session") as table:
        table.drop_column("active_slot")
