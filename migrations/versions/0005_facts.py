"""facts staff keep: whether a funding rule is published or projected (and where it comes
from), when a hub's sessions run, and the places a cohort has left

Revision ID: 0005_facts
Revises: 0004
Create Date: 2026-11-24 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005_facts'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('funding_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provisional', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('source', sa.Text(), nullable=False, server_default=''))

    with op.batch_alter_table('hubs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_times', sa.Text(), nullable=True))

    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('places_left', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.drop_column('places_left')

    with op.batch_alter_table('hubs', schema=None) as batch_op:
        batch_op.drop_column('session_times')

    with op.batch_alter_table('funding_rules', schema=None) as batch_op:
        batch_op.drop_column('source')
        batch_op.drop_column('provisional')
