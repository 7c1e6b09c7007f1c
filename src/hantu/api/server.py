"""Run the API under uvicorn: the one place that checks the bind address before listening.

Used by `hantu api` and `python api-server/main.py`; systemd runs `uvicorn --factory hantu.api.app:create_app`,
where `create_app` applies the same check to `API_HOST` and the key middleware refuses keyless requests that
arrive on a non-loopback address.
"""

from __future__ import annotations

import logging

from hantu.api.security import check_bind

log = logging.getLogger(__name__)


def serve(host: str | None = None, port: int | None = None, access_log: bool = False) -> None:
    """Serve until interrupted. Raises `UnsafeBindError` (before listening) for a keyless public bind."""
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
