"""network settings: links and settings staff edit in data/catalogue/network.yaml

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('network_settings',
    sa.Column('key', sa.String(length=48), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=160), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('checked', sa.Boolean(), nullable=False),
    sa.CheckConstraint("kind in ('link', 'text')", name=op.f('ck_network_settings_kind')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_network_settings'))
    )


def downgrade() -> None:
    op.drop_table('network_settings')
