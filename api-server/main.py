"""The API server as the deployment guide starts it: `python api-server/main.py` (port from API_PORT, 8000).

A thin wrapper around `hantu api`; systemd may run `uvicorn --factory hantu.api.app:create_app` instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import hantu  # noqa: F401  (installed into the venv)
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main() -> int:
    from hantu.api.security import UnsafeBindError
    from hantu.api.server import serve
    from hantu.config import EXIT_CONFIG, ConfigurationError

    try:
        serve()
    except UnsafeBindError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    return 0


if __name__ == "__main__":
    sys.exit(main())
