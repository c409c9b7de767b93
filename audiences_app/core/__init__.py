"""The domain: plain Python, SQLModel and SQLAlchemy Core. Never imports reflex."""
