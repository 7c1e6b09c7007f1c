"""An example hantu strategy package (docs/strategies.md walks through it)."""
