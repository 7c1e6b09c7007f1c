"""The dashboard at `/`: a server-rendered page (labels, layout) whose script fetches the API with the key.

The page itself carries no account data, so it is public; the data routes it calls need the key, which the
user types once and the browser keeps in localStorage.
"""

from __future__ import annotations

import asyncio
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from hantu.api.child import run_python
from hantu.api.context import ApiContext, get_ctx
from hantu.api.i18n import labels

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _environment():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))


@lru_cache(maxsize=4)
def render(language: str, key_required: bool) -> str:
    text = labels(language)
    template = _environment().get_template("dashboard.html")
    return template.render(t=text, lang=language, labels_json=json.dumps(text, ensure_ascii=False),
                           key_required=key_required)


def render_in_child(language: str, key_required: bool) -> str:
    """`render` run by a child Python: jinja2 and the compiled template (~3 MB) stay out of the API process,
    which serves the page's bytes from then on (quality bar P2)."""
    code = ("import sys\nfrom hantu.api.dashboard import render\n"
            "sys.stdout.buffer.write(render(sys.argv[1], sys.argv[2] == '1').encode('utf-8'))")
    return run_python(["-c", code, language, "1" if key_required else "0"]).decode("utf-8")


HEADERS = {"Cache-Control": "no-store",
           "Content-Security-Policy": "default-src 'self'; script-src 'unsafe-inline'; "
           "style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"}


@router.get("/", response_class=HTMLResponse)
async def dashboard(ctx: ApiContext = Depends(get_ctx)) -> HTMLResponse:
    return HTMLResponse(render(ctx.settings.language, ctx.api_key is not None), headers=HEADERS)


class DashboardPage:
    """ASGI fast path for `GET /`: the page depends only on the language and whether a key is set, both fixed
    for the server's life, so its bytes and headers are built once (rendered by a child, on first request) and
    sent as they are, without routing or dependency resolution for every poll (a quarter of the page's CPU)."""

    def __init__(self, app: Any, language: str, key_required: bool) -> None:
        self.app = app
        self.language = language
        self.key_required = key_required
        self._start: dict[str, Any] | None = None
        self._body = b""
        self._building = asyncio.Lock()

    def _build(self) -> None:
        response = HTMLResponse(render_in_child(self.language, self.key_required), headers=HEADERS)
        self._body = bytes(response.body)
        self._start = {"type": "http.response.start", "status": 200, "headers": response.raw_headers}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        if self._start is None:
            async with self._building:  # the first request renders (off the event loop); the others wait for it
                if self._start is None:
                    await asyncio.to_thread(self._build)
        assert self._start is not None
        await send(self._start)
        await send({"type": "http.response.body", "body": self._body})
