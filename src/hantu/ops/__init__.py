"""Operations: deployment, host checks, state, log rotation — the logic behind `hantu ops` and the shell scripts.

The shell scripts under `scripts/` and `deploy/` are thin wrappers over these modules so that every rule is
tested with pytest. Modules here import only the standard library at module level (the CLI stays fast).
"""
