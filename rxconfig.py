"""Reflex configuration: the app, its database, who may connect, and the theme."""

import reflex as rx

from audiences_app.settings import get_settings

settings = get_settings()

config = rx.Config(
    app_name="audiences_app",
    db_url=settings.database_url,
    telemetry_enabled=False,
    # Reflex lets every origin open the websocket by default; AUDIENCES_ALLOWED_ORIGINS narrows it.
    cors_allowed_origins=settings.allowed_origin_list,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color="indigo", gray_color="slate", radius="medium", appearance="light"),
        ),
    ],
    # The sitemap lists public pages for search engines: a private workspace has none.
    disable_plugins=[rx.plugins.SitemapPlugin],
)
