"""Alembic environment: runs on the connection that `core.migrate.upgrade` hands it."""

from alembic import context
from sqlmodel import SQLModel

import audiences_app.core.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from audiences_app.core.migrate import include_name

target_metadata = SQLModel.metadata
connection = context.config.attributes.get("connection")
if connection is None:
    from audiences_app.core.db import make_engine

    connection = make_engine(context.config.get_main_option("sqlalchemy.url")).connect()

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
