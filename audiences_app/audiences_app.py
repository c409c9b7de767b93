"""The Reflex app: registers every page of the workspace and runs the durable-run worker."""

import asyncio
import contextlib
import logging
import threading

import reflex as rx

from audiences_app.core.imports.uploads import sweep_uploads
from audiences_app.core.jobs import Worker
from audiences_app.core.run_kinds import handlers
from audiences_app.settings import get_settings
from audiences_app.ui.db import engine

from audiences_app.ui import downloads, routes
from audiences_app.ui.pages import PAGES
from audiences_app.ui.state.import_wizard import upload_dir

app = rx.App(
    head_components=[rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml")],
    # Exported files are fetched over HTTP from /_downloads, never sent through the websocket.
    api_transformer=downloads.api(),
    style={
        "font_family": "Inter, ui-sans-serif, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        "-webkit-font-smoothing": "antialiased",
    },
)

for page in PAGES:
    app.add_page(
        page.component,
        route=page.route,
        title=f"{page.title} · Audiences",
        on_load=page.on_load,
    )

# The workspace opens on Companies.
app.add_page(
    lambda: rx.center(rx.spinner(size="3"), height="100vh"),
    route=routes.INDEX,
    title="Audiences",
    on_load=rx.redirect(routes.COMPANIES),
)


@contextlib.asynccontextmanager
async def durable_run_worker():
    """The worker lives as long as the app; `python -m audiences_app worker` adds more."""
    if not get_settings().run_worker:
        yield
        return
    stop = threading.Event()
    worker = Worker(engine(), handlers())
    thread = threading.Thread(target=worker.run_forever, args=(stop,), name="durable-run-worker", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, 10)


app.register_lifespan_task(durable_run_worker)


async def sweep_uploads_hourly():
    """Uploads left behind by closed tabs are deleted after a day (core/imports/uploads.py)."""
    while True:
        try:
            await asyncio.to_thread(sweep_uploads, engine(), upload_dir())
        except Exception:  # a passing database error must not end the sweeping
            logging.getLogger(__name__).exception("sweeping the upload folder failed")
        await asyncio.sleep(3600)


app.register_lifespan_task(sweep_uploads_hourly)
