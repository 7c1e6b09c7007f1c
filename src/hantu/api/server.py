"""Run the API under uvicorn: the one place that checks the bind address before listening.

Used by `hantu api` and `python api-server/main.py`; systemd runs `uvicorn --factory hantu.api.app:create_app`,
where `create_app` applies the same check to `API_HOST` and the key middleware refuses keyless requests that
arrive on a non-loopback address.
"""

from __future__ import annotations

import logging
import sys

from hantu.api.security import check_bind

log = logging.getLogger(__name__)

# Modules this process never needs although a library imports them: FastAPI imports `pydantic.v1` (1.4 MB, 22
# modules) only to refuse pydantic-v1 models, at every route it builds and in `jsonable_encoder`; this app has
# none. Marked absent, its check answers "not a v1 model" (it catches the ImportError) without the import.
ABSENT = ("pydantic.v1",)


def keep_out_unused() -> None:
    """Mark `ABSENT` as not importable in this process (before the app is built; a module already imported stays)."""
    for name in ABSENT:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def serve(host: str | None = None, port: int | None = None, access_log: bool = False) -> None:
    """Serve until interrupted. Raises `UnsafeBindError` (before listening) for a keyless public bind."""
    keep_out_unused()
    from hantu.config import get_settings
    from hantu.log import setup_from_settings

    settings = get_settings()
    host = host or settings.api_host
    port = port or settings.api_port
    key = settings.api_server_key.get_secret_value() if settings.api_server_key else None
    check_bind(host, key)
    setup_from_settings(settings, "api")
    import uvicorn

    from hantu.api.app import create_app

    app = create_app(settings.model_copy(update={"api_host": host, "api_port": port}))
    log.info("API server on http://%s:%s (%s)", host, port, "key required" if key else "loopback, no key")
    # ws="none": no WebSocket route, so the websockets library stays out of the process (memory, P2)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=access_log, server_header=False, ws="none",
                proxy_headers=False, timeout_graceful_shutdown=5)
