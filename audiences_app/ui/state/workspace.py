"""What every state that reads a workspace's data shares: whose workspace, and readable errors."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import reflex as rx
from sqlalchemy.engine import Connection

from audiences_app.core.db import QueryTimeout
from audiences_app.core.workspaces import workspace_id
from audiences_app.settings import get_settings

logger = logging.getLogger(__name__)


class WorkspaceState(rx.State, mixin=True):
    """Mixin: resolve the session's workspace and turn failures into a message for the page."""

    error: str = ""

    def _workspace_id(self, conn: Connection) -> int:
        """The workspace this session may read and change.

        There is no login yet, so every session opens the configured workspace. Every handler
        that touches records asks here and nowhere else: when accounts arrive, the check that
        the session's user belongs to the workspace goes into this method.
        """
        return workspace_id(conn, get_settings().workspace)

    @contextlib.contextmanager
    def _reporting_errors(self, message_var: str = "error") -> Iterator[None]:
        """Run a handler's body; show what went wrong in `message_var` instead of a stack trace.

        ValueError and LookupError carry messages written for users (bad input, a record
        that is gone); anything else is logged with its traceback and shown as a short notice.
        """
        setattr(self, message_var, "")
        try:
            yield
        except (ValueError, LookupError) as exc:
            setattr(self, message_var, str(exc))
        except QueryTimeout:
            seconds = get_settings().query_time_limit_ms / 1000
            setattr(
                self,
                message_var,
                f"The database took longer than {seconds:g} s to answer. "
                "Narrow the search or sort by another column, then try again.",
            )
        except Exception:
            logger.exception("%s failed", type(self).__name__)
            setattr(
                self,
                message_var,
                "Something went wrong on the server; the details are in its log. Try again.",
            )
