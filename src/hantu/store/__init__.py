"""Persistence: the database engine, tables, migrations, key-value state and the audit log."""
