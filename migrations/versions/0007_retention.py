"""retention: when a reminder subscription ended, and erasures still to finish

Revision ID: 0007_retention
Revises: 0006_delivery
Create Date: 2026-12-05 06:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007_retention'
down_revision: str | None = '0006_delivery'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('reminder_subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('pending_erasures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('examples', sa.JSON(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_erasures'))
    )
    with op.batch_alter_table('pending_erasures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_erasures_chat_id'), ['chat_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pending_erasures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_erasures_chat_id'))
    op.drop_table('pending_erasures')
    with op.batch_alter_table('reminder_subscriptions', schema=None) as batch_op:
        batch_op.drop_column('ended_at')
