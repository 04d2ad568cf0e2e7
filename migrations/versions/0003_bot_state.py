"""bot state: reminder claims, handoff relay, kept messages, long button payloads

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('button_payloads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_button_payloads')),
    sa.UniqueConstraint('digest', name=op.f('uq_button_payloads_digest'))
    )
    op.create_table('pending_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('typed', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_messages'))
    )
    with op.batch_alter_table('pending_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_messages_chat_id'), ['chat_id'], unique=False)

    op.create_table('handoff_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('handoff_id', sa.Integer(), nullable=False),
    sa.Column('staff_chat_id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['handoff_id'], ['handoff_requests.id'],
                            name=op.f('fk_handoff_messages_handoff_id_handoff_requests'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoff_messages')),
    sa.UniqueConstraint('staff_chat_id', 'message_id', name='uq_handoff_messages_message')
    )
    with op.batch_alter_table('handoff_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handoff_messages_handoff_id'), ['handoff_id'],
                              unique=False)

    with op.batch_alter_table('handoff_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_chat_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('staff_message_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('staff_user_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('staff_name', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('forwarded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_handoff_requests_status'), ['status'], unique=False)

    # Existing rows were reminders already sent.
    with op.batch_alter_table('reminder_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=8), server_default='sent',
                                      nullable=False))
        batch_op.create_check_constraint(
            'status', "status in ('sending', 'sent', 'failed')")


def downgrade() -> None:
    with op.batch_alter_table('reminder_deliveries', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_reminder_deliveries_status'), type_='check')
        batch_op.drop_column('status')

    with op.batch_alter_table('handoff_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoff_requests_status'))
        batch_op.drop_column('closed_at')
        batch_op.drop_column('forwarded_at')
        batch_op.drop_column('staff_name')
        batch_op.drop_column('staff_user_id')
        batch_op.drop_column('staff_message_id')
        batch_op.drop_column('staff_chat_id')

    with op.batch_alter_table('handoff_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoff_messages_handoff_id'))
    op.drop_table('handoff_messages')
    with op.batch_alter_table('pending_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_messages_chat_id'))
    op.drop_table('pending_messages')
    op.drop_table('button_payloads')
