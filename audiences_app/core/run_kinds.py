"""The registry of run kinds: which handler processes the items of each kind of durable run.

Each area (imports, enrichment, exports…) registers its handler here with `register`, so the
in-app worker and `python -m audiences_app worker` serve exactly the same kinds.
"""

from __future__ import annotations

from audiences_app.core.jobs import Handler

HANDLERS: dict[str, Handler] = {}


def register(kind: str, handler: Handler) -> None:
    if kind in HANDLERS and HANDLERS[kind] is not handler:
        raise ValueError(f"run kind {kind!r} is registered twice")
    HANDLERS[kind] = handler


def handlers() -> dict[str, Handler]:
    """Every registered kind; importing the areas here registers their handlers."""
    from audiences_app.core.imports import run as _imports  # noqa: F401, PLC0415  (registers "import")
    from audiences_app.core.enrichment import runs as _enrichment  # noqa: F401, PLC0415  (registers "enrich")
    return dict(HANDLERS)
