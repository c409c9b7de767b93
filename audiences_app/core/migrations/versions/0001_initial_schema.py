"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('workspace',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slug')
    )
    op.create_table('company',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('domain', sqlmodel.sql.sqltypes.AutoString(length=253), nullable=True),
    sa.Column('linkedin_url', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('website', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('industry', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('employee_count', sa.Integer(), nullable=True),
    sa.Column('annual_revenue', sa.BigInteger(), nullable=True),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('city', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('founded_year', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('crm_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('archived_at', sa.DateTime(), nullable=True),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.CheckConstraint('domain IS NOT NULL OR linkedin_url IS NOT NULL OR crm_id IS NOT NULL', name='ck_company_identity'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workspace_id', 'crm_id', name='uq_company_crm_id'),
    sa.UniqueConstraint('workspace_id', 'domain', name='uq_company_domain'),
    sa.UniqueConstraint('workspace_id', 'linkedin_url', name='uq_company_linkedin')
    )
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.create_index('ix_company_ws_annual_revenue', ['workspace_id', 'annual_revenue', 'id'], unique=False)
        batch_op.create_index('ix_company_ws_city', ['workspace_id', 'city', 'id'], unique=False)
        batch_op.create_index('ix_company_ws_country', ['workspace_id', 'country', 'id'], unique=False)
        batch_op.create_index('ix_company_ws_created_at', ['workspace_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_company_ws_id', ['workspace_id', 'id'], unique=False)
        batch_op.create_index('ix_company_ws_employee_count', ['workspace_id', 'employee_count', 'id'], unique=False)
        batch_op.create_index('ix_company_ws_founded_year', ['workspace_id', 'founded_year', 'id'], unique=False)
        batch_op.create_index('ix_company_ws_industry', ['workspace_id', 'industry', 'id'], unique=False)
        batch_op.create_index('ix_company_ws_name', ['workspace_id', 'name', 'id'], unique=False)
        batch_op.create_index('ix_company_ws_updated_at', ['workspace_id', 'updated_at', 'id'], unique=False)

    op.create_table('field_catalog',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('entity', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('is_core', sa.Boolean(), nullable=False),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workspace_id', 'entity', 'key', name='uq_field_catalog_key')
    )
    op.create_table('tag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('color', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workspace_id', 'name', name='uq_tag_name')
    )
    op.create_table('company_tag',
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tag.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('company_id', 'tag_id')
    )
    with op.batch_alter_table('company_tag', schema=None) as batch_op:
        batch_op.create_index('ix_company_tag_tag', ['tag_id', 'company_id'], unique=False)

    op.create_table('person',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('first_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('last_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('full_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('linkedin_url', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('seniority', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('department', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('company_domain', sqlmodel.sql.sqltypes.AutoString(length=253), nullable=True),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
    sa.Column('city', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('crm_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('archived_at', sa.DateTime(), nullable=True),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.CheckConstraint('email IS NOT NULL OR linkedin_url IS NOT NULL OR phone IS NOT NULL OR crm_id IS NOT NULL', name='ck_person_identity'),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workspace_id', 'crm_id', name='uq_person_crm_id'),
    sa.UniqueConstraint('workspace_id', 'email', name='uq_person_email'),
    sa.UniqueConstraint('workspace_id', 'linkedin_url', name='uq_person_linkedin'),
    sa.UniqueConstraint('workspace_id', 'phone', name='uq_person_phone')
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index('ix_person_company_id', ['company_id'], unique=False)
        batch_op.create_index('ix_person_ws_id', ['workspace_id', 'id'], unique=False)
        batch_op.create_index('ix_person_ws_city', ['workspace_id', 'city', 'id'], unique=False)
        batch_op.create_index('ix_person_ws_company_domain', ['workspace_id', 'company_domain', 'id'], unique=False)
        batch_op.create_index('ix_person_ws_country', ['workspace_id', 'country', 'id'], unique=False)
        batch_op.create_index('ix_person_ws_created_at', ['workspace_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_person_ws_department', ['workspace_id', 'department', 'id'], unique=False)
        batch_op.create_index('ix_person_ws_full_name', ['workspace_id', 'full_name', 'id'], unique=False)
        batch_op.create_index('ix_person_ws_seniority', ['workspace_id', 'seniority', 'id'], unique=False)
        batch_op.create_index('ix_person_ws_title', ['workspace_id', 'title', 'id'], unique=False)
        batch_op.create_index('ix_person_ws_updated_at', ['workspace_id', 'updated_at', 'id'], unique=False)

    op.create_table('person_tag',
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tag.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'tag_id')
    )
    with op.batch_alter_table('person_tag', schema=None) as batch_op:
        batch_op.create_index('ix_person_tag_tag', ['tag_id', 'person_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('person_tag', schema=None) as batch_op:
        batch_op.drop_index('ix_person_tag_tag')

    op.drop_table('person_tag')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index('ix_person_ws_updated_at')
        batch_op.drop_index('ix_person_ws_title')
        batch_op.drop_index('ix_person_ws_seniority')
        batch_op.drop_index('ix_person_ws_full_name')
        batch_op.drop_index('ix_person_ws_department')
        batch_op.drop_index('ix_person_ws_created_at')
        batch_op.drop_index('ix_person_ws_country')
        batch_op.drop_index('ix_person_ws_company_domain')
        batch_op.drop_index('ix_person_ws_city')
        batch_op.drop_index('ix_person_ws_id')
        batch_op.drop_index('ix_person_company_id')

    op.drop_table('person')
    with op.batch_alter_table('company_tag', schema=None) as batch_op:
        batch_op.drop_index('ix_company_tag_tag')

    op.drop_table('company_tag')
    op.drop_table('tag')
    op.drop_table('field_catalog')
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.drop_index('ix_company_ws_updated_at')
        batch_op.drop_index('ix_company_ws_name')
        batch_op.drop_index('ix_company_ws_industry')
        batch_op.drop_index('ix_company_ws_founded_year')
        batch_op.drop_index('ix_company_ws_id')
        batch_op.drop_index('ix_company_ws_employee_count')
        batch_op.drop_index('ix_company_ws_created_at')
        batch_op.drop_index('ix_company_ws_country')
        batch_op.drop_index('ix_company_ws_city')
        batch_op.drop_index('ix_company_ws_annual_revenue')

    op.drop_table('company')
    op.drop_table('workspace')

