"""The demo carrier's home page with the widget embedded, and the widget's script and static files."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from backend.channels.web.cors import WidgetRoute
from backend.config import PROJECT_ROOT

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
DEEP_CHAT_BUNDLE = PROJECT_ROOT / "node_modules" / "deep-chat" / "dist" / "deepChat.bundle.js"
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}

router = APIRouter(route_class=WidgetRoute)


@cache
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]))


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def demo_page() -> HTMLResponse:
    """The demo carrier's home page, with the widget embedded by its one script tag."""
    return HTMLResponse(_templates().get_template("demo.html").render(widget_src="/widget.js"))


def _file(path: Path, *, media_type: str | None = None) -> FileResponse:
    # no-cache still lets the browser keep the file: it revalidates by ETag, so a new release shows at once.
    return FileResponse(
        path,
        media_type=media_type or _MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/widget.js", include_in_schema=False)
async def widget_script() -> FileResponse:
    """The embed: `<script src="https://<backend>/widget.js" defer></script>` on any page."""
    return _file(STATIC_DIR / "widget.js")


@router.get("/widget/static/{name:path}", include_in_schema=False)
async def widget_static(name: str) -> FileResponse:
    """deep-chat's built bundle from node_modules (installed by `npm ci`), and our own CSS and JS."""
    if name == "deep-chat.js":
        if not DEEP_CHAT_BUNDLE.is_file():
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, "deep-chat is not installed: run `npm ci`."
            )
        return _file(DEEP_CHAT_BUNDLE)
    path = (STATIC_DIR / name).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file() or path.suffix not in _MEDIA_TYPES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not found.")
    return _file(path)
