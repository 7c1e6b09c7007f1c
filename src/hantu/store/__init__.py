"""Persistence: the database engine, tables, migrations, key-value state, the audit log and the single-instance locks."""
