"""The dashboard at `/`: a server-rendered page (labels, layout) whose script fetches the API with the key.

The page itself carries no account data, so it is public; the data routes it calls need the key, which the
user types once and the browser keeps in localStorage.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from hantu.api.context import ApiContext, get_ctx
from hantu.api.i18n import labels

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _environment():  # type: ignore[no-untyped-def]
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))


@lru_cache(maxsize=4)
def render(language: str, key_required: bool) -> str:
    text = labels(language)
    template = _environment().get_template("dashboard.html")
    return template.render(t=text, lang=language, labels_json=json.dumps(text, ensure_ascii=False),
                           key_required=key_required)


@router.get("/", response_class=HTMLResponse)
async def dashboard(ctx: ApiContext = Depends(get_ctx)) -> HTMLResponse:
    return HTMLResponse(render(ctx.settings.language, ctx.api_key is not None),
                        headers={"Cache-Control": "no-store",
                                 "Content-Security-Policy": "default-src 'self'; script-src 'unsafe-inline'; "
                                 "style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
                                 "frame-ancestors 'none'"})
