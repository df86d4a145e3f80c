"""The database: SQLModel tables (models), engines, sessions and migrations (db)."""
