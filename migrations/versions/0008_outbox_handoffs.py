"""outbox_handoffs: the outbox carries handoff relays (HTML, a reply to a message, a copy of a
user's photo or file, the request it belongs to)

Revision ID: 0008_outbox_handoffs
Revises: 0007_retention
Create Date: 2026-12-05 12:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008_outbox_handoffs'
down_revision: str | None = '0007_retention'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parse_mode', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('reply_to', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('copy_from', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('copy_of', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('handoff_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_handoff_id'), ['handoff_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_handoff_id_handoff_requests'),
                                    'handoff_requests', ['handoff_id'], ['id'],
                                    ondelete='CASCADE')


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_handoff_id_handoff_requests'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_handoff_id'))
        batch_op.drop_column('handoff_id')
        batch_op.drop_column('copy_of')
        batch_op.drop_column('copy_from')
        batch_op.drop_column('reply_to')
        batch_op.drop_column('parse_mode')
