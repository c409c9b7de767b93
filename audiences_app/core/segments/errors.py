"""FilterError: what is wrong with a segment filter, and at which node."""

from __future__ import annotations


class FilterError(ValueError):
    """A filter that cannot be run, with the path of the node at fault.

    The path reads like the JSON it points into: `and[1].or[0]` is the first child of the
    `or` group that is the second child of the root `and`; `not` steps into a negation and
    `segment[12]` into the filter of saved segment 12. The root is called `filter`.
    """

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path or 'filter'}: {message}")


def quoted(name: object, limit: int = 60) -> str:
    """A user-supplied name for an error message: quoted, and cut short when it is long."""
    text = name if isinstance(name, str) else repr(name)
    if len(text) > limit:
        text = text[:limit] + "…"
    return f"'{text}'"
