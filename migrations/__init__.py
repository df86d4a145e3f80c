"""Alembic's script folder, shipped inside pipfleet as the package pipfleet.migrations."""
