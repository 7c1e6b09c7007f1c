"""The trading engine: orders, positions, risk, reconciliation and the session loop."""
