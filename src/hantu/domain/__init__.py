"""The domain core: types and rules with no dependency on the rest of Hantu (the bottom of the import graph)."""
