"""The trading database's revisions, oldest first by ``down_revision``."""
