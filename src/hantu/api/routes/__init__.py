"""Route groups, one module each; `hantu.api.app` mounts them under `/api/v1`."""
