"""The `hantu` command line (typer + rich). Modules here import heavy libraries inside commands only."""
