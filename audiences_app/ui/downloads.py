"""Files the app hands to a browser (segment exports): written under one folder, served by one
HTTP route, linked by an unguessable name.

A file never travels through the websocket (Reflex caps its messages at 1 MB and the state
would carry it): a handler writes it here and shows a link, and the browser fetches it from
`/_downloads/<name>`. The name holds 128 random bits, so only the session that made the file
knows its address; files older than a day are deleted when the next one is made.
"""

from __future__ import annotations

import re
import secrets
import time
import unicodedata
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from audiences_app.settings import get_settings

ROUTE = "/_downloads"
KEEP_SECONDS = 24 * 3600
_NAME = re.compile(r"(?P<token>[A-Za-z0-9_-]{22})--(?P<stem>[a-z0-9-]{1,60})\.csv")


def downloads_dir() -> Path:
    """AUDIENCES_DOWNLOADS_DIR; by default beside the default database, under data/ (git ignores it)."""
    return get_settings().downloads_dir


def slug(text: str) -> str:
    """A file name stem from a segment's name: 'Software · US' → 'software-us'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-") or "export"


def new_file(title: str) -> tuple[Path, str]:
    """A fresh path to write a CSV to, and the URL path it will be served at."""
    folder = downloads_dir()
    folder.mkdir(parents=True, exist_ok=True)
    prune(folder)
    name = f"{secrets.token_urlsafe(16)}--{slug(title)}.csv"
    return folder / name, f"{ROUTE}/{name}"


def remove(path: str) -> None:
    """Delete an earlier download of ours (a path `new_file` gave), if it is still there."""
    if path and Path(path).parent == downloads_dir() and _NAME.fullmatch(Path(path).name):
        Path(path).unlink(missing_ok=True)


def prune(folder: Path) -> None:
    cutoff = time.time() - KEEP_SECONDS
    for path in folder.glob("*.csv"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass


async def serve(request: Request) -> Response:
    """GET /_downloads/<name>: the file, as an attachment named after the segment."""
    match = _NAME.fullmatch(request.path_params["name"])
    path = downloads_dir() / match.group(0) if match else None
    if path is None or not path.is_file():
        return PlainTextResponse("This download has expired or does not exist. Export again.", status_code=404)
    return FileResponse(
        path,
        media_type="text/csv; charset=utf-8",
        filename=f"{match.group('stem')}.csv",
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


def api() -> Starlette:
    """The route, for `rx.App(api_transformer=...)`: Reflex mounts the app behind it."""
    return Starlette(routes=[Route(ROUTE + "/{name}", serve, methods=["GET"])])
