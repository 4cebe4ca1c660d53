"""Alembic's environment and revisions of the trading database (see ``..migrate``)."""
