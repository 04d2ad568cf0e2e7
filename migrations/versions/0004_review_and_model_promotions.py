"""review and retraining: the model's top intents and review time on message_log; the log of
model promotions, refusals and rollbacks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('model_promotions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('model_file', sa.String(length=200), nullable=False),
    sa.Column('previous_model', sa.String(length=200), nullable=True),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('scores_before', sa.JSON(), nullable=True),
    sa.Column('scores_after', sa.JSON(), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("action in ('promote', 'refuse', 'rollback')", name=op.f('ck_model_promotions_action')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_promotions'))
    )
    with op.batch_alter_table('model_promotions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_promotions_created_at'), ['created_at'], unique=False)

    with op.batch_alter_table('message_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ranking', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('message_log', schema=None) as batch_op:
        batch_op.drop_column('reviewed_at')
        batch_op.drop_column('ranking')

    with op.batch_alter_table('model_promotions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_promotions_created_at'))

    op.drop_table('model_promotions')
