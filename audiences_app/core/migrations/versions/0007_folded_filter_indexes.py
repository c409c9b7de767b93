"""folded filter indexes

Segment filters compare text the way `text_search.normalized` writes it — lower(trim(col)),
under COLLATE "C" on PostgreSQL — so the plain (workspace_id, col, id) indexes cannot serve
`industry is any of …`. These expression indexes, written exactly as the compiler writes the
expression, make the common low-cardinality text filters index plans on both backends.
The models cannot declare them (SQLite's reflection skips expression indexes), so
`migrate.include_name` leaves names ending in `_folded` out of schema comparisons.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

FOLDED = [
    ("company", "industry"), ("company", "country"),
    ("person", "seniority"), ("person", "department"), ("person", "country"),
]


def _expression(column: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f'lower((trim({column}) COLLATE "C"))'
    return f"lower(trim({column}))"


def upgrade() -> None:
    for table, column in FOLDED:
        op.execute(
            f"CREATE INDEX ix_{table}_ws_{column}_folded ON {table} "
            f"(workspace_id, {_expression(column)}, id)"
        )


def downgrade() -> None:
    for table, column in FOLDED:
        op.execute(f"DROP INDEX ix_{table}_ws_{column}_folded")
