"""Alembic migrations of the service schema (see ``api.db.migrate``)."""
