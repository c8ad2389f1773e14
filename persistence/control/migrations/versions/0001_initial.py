"""The control plane's first tables: profiles, versions, audit, sessions, order and position ledgers, snapshots.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "trading_configuration",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
    )
    op.create_index("one_active_configuration", "trading_configuration", ["is_active"], unique=True,
                    sqlite_where=sa.text("is_active"), postgresql_where=sa.text("is_active"))
    op.create_table(
        "configuration_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("configuration_id", sa.Integer(),
                  sa.ForeignKey("trading_configuration.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(16), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("diff", sa.JSON(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
    )
    op.create_index("configuration_version_unique", "configuration_version", ["configuration_id", "version"],
                    unique=True)
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", _UTC, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(120), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_table(
        "strategy_session",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("configuration_id", sa.Integer(),
                  sa.ForeignKey("trading_configuration.id", ondelete="SET NULL"), nullable=True),
        sa.Column("content_hash", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", _UTC, nullable=False),
        sa.Column("stopped_at", _UTC, nullable=True),
        sa.Column("stop_reason", sa.Text(), nullable=False),
        sa.Column("heartbeat_at", _UTC, nullable=True),
        sa.Column("ledger_path", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_table(
        "order_ledger",
        sa.Column("session_id", sa.String(40), sa.ForeignKey("strategy_session.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("client_order_id", sa.String(120), primary_key=True),
        sa.Column("owner", sa.String(120), nullable=False),
        sa.Column("legs", sa.JSON(), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("limit_price_per_share", sa.Float(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("filled_quantity", sa.Integer(), nullable=False),
        sa.Column("average_fill_price_per_share", sa.Float(), nullable=True),
        sa.Column("last_event_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
    )
    op.create_table(
        "position_ledger",
        sa.Column("session_id", sa.String(40), sa.ForeignKey("strategy_session.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("symbol", sa.String(16), primary_key=True),
        sa.Column("expiry", sa.String(10), primary_key=True),
        sa.Column("strike", sa.Float(), primary_key=True),
        sa.Column("right", sa.String(1), primary_key=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("mark_per_share", sa.Float(), nullable=True),
        sa.Column("unrealized_usd", sa.Float(), nullable=True),
        sa.Column("delta_shares", sa.Float(), nullable=True),
        sa.Column("gamma_shares", sa.Float(), nullable=True),
        sa.Column("vega_usd", sa.Float(), nullable=True),
        sa.Column("theta_usd", sa.Float(), nullable=True),
        sa.Column("updated_at", _UTC, nullable=False),
    )
    op.create_table(
        "trade_analytics_snapshot",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.String(40), sa.ForeignKey("strategy_session.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("at", _UTC, nullable=False),
        sa.Column("realized_usd", sa.Float(), nullable=False),
        sa.Column("unrealized_usd", sa.Float(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("fills", sa.Integer(), nullable=False),
        sa.Column("open_contracts", sa.Integer(), nullable=False),
    )
    op.create_index("snapshot_by_session", "trade_analytics_snapshot", ["session_id", "at"])


def downgrade() -> None:
    for table in ("trade_analytics_snapshot", "position_ledger", "order_ledger", "strategy_session", "audit_entry",
                  "configuration_version", "trading_configuration"):
        op.drop_table(table)
