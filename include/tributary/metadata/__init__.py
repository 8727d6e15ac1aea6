"""The metadata database: SQLAlchemy models, sessions, Alembic migrations, repositories."""
