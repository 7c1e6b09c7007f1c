"""`hantu api`: the HTTP API and dashboard server."""

from __future__ import annotations

import typer


def serve_command(
    host: str = typer.Option(None, "--host", help="Address to bind (default: API_HOST, 127.0.0.1)."),
    port: int = typer.Option(None, "--port", min=1, max=65535, help="Port (default: API_PORT, 8000)."),
    access_log: bool = typer.Option(False, "--access-log", help="Log every request."),
) -> None:
    """Serve the API (/api/v1/...) and the dashboard (/) until interrupted.

    A non-loopback --host needs API_SERVER_KEY. Example: `hantu api --port 8000`, then open
    http://127.0.0.1:8000/ (API reference: /docs).
    """
    from hantu.api.security import UnsafeBindError
    from hantu.api.server import serve
    from hantu.cli.common import EXIT_USAGE, fail

    try:
        serve(host, port, access_log)
    except UnsafeBindError as error:
        fail(str(error), EXIT_USAGE)
