"""The HTTP API and the dashboard: reads the database and the scheduler's published state, never the broker."""
