"""The Reflex app: registers every page of the workspace; the pages themselves live in ui/pages."""

import reflex as rx

from audiences_app.ui import routes
from audiences_app.ui.pages import PAGES

app = rx.App(
    head_components=[rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml")],
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
