"""import lines

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('import_line',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('column_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('record_id', sa.BigInteger(), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('import_line', schema=None) as batch_op:
        batch_op.create_index('ix_import_line_run_line', ['run_id', 'line'], unique=False)
        batch_op.create_index('ix_import_line_run_record', ['run_id', 'record_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('import_line', schema=None) as batch_op:
        batch_op.drop_index('ix_import_line_run_record')
        batch_op.drop_index('ix_import_line_run_line')

    op.drop_table('import_line')
