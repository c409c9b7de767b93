"""Workspace secrets (API keys): encrypted at rest with a key that never enters the database.

The key is AUDIENCES_SECRET_KEY (a Fernet key), or else a key file (AUDIENCES_SECRET_KEY_FILE,
default ./data/secret.key) created with mode 0600 on first use. A database dump alone reveals
no secret. Values come back only as `SecretValue`, whose repr and str are redacted, so a log
line or a traceback that prints one shows '***'; `reveal()` is called by a provider when it
builds the request and nowhere else. Listing shows names, hosts and dates, never values.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import Connection

from audiences_app.core.models import Secret, utcnow
from audiences_app.settings import get_settings

SECRET = Secret.__table__
KEY_ENV = "AUDIENCES_SECRET_KEY"
KEY_FILE_ENV = "AUDIENCES_SECRET_KEY_FILE"
NAME = re.compile(r"[a-z][a-z0-9_]{0,79}")
MAX_VALUE_LENGTH = 8_000
REDACTED = "***"
log = logging.getLogger("audiences_app.core.enrichment")


class SecretError(ValueError):
    """A secret that is missing, badly named, or cannot be decrypted with the current key."""


class SecretValue:
    """A secret's plain value that does not print itself."""

    __slots__ = ("_value", "name", "hosts")

    def __init__(self, name: str, value: str, hosts: frozenset[str] = frozenset()):
        self.name, self._value, self.hosts = name, value, hosts

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"SecretValue({self.name!r}, {REDACTED})"

    __str__ = __repr__


def _fernet() -> Fernet:
    settings = get_settings()
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return Fernet(settings.secret_key.get_secret_value().encode())
    path = settings.secret_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
    return Fernet(path.read_bytes().strip())


def _hosts(hosts: str | list[str] | None) -> str:
    if not hosts:
        return ""
    items = hosts.split(",") if isinstance(hosts, str) else hosts
    return ",".join(sorted({h.strip().lower() for h in items if h.strip()}))


def set_secret(conn: Connection, workspace_id: int, name: str, value: str, *, hosts: str | list[str] | None = None) -> None:
    """Store (or replace) a secret. `hosts` limits the hosts its value may be sent to."""
    if not NAME.fullmatch(name or ""):
        raise SecretError(f"{name!r} is not a valid secret name: lower-case letters, digits and _, starting with a letter.")
    if not value or len(value) > MAX_VALUE_LENGTH:
        raise SecretError(f"A secret value must have 1 to {MAX_VALUE_LENGTH} characters.")
    token = _fernet().encrypt(value.encode()).decode()
    now = utcnow()
    updated = conn.execute(sa.update(SECRET).where(SECRET.c.workspace_id == workspace_id, SECRET.c.name == name)
                           .values(ciphertext=token, hosts=_hosts(hosts), updated_at=now)).rowcount
    if not updated:
        conn.execute(sa.insert(SECRET).values(workspace_id=workspace_id, name=name, ciphertext=token,
                                              hosts=_hosts(hosts), created_at=now, updated_at=now))


def delete_secret(conn: Connection, workspace_id: int, name: str) -> bool:
    return bool(conn.execute(sa.delete(SECRET).where(SECRET.c.workspace_id == workspace_id, SECRET.c.name == name)).rowcount)


def list_secrets(conn: Connection, workspace_id: int) -> list[dict]:
    """Names, allowed hosts and dates of the workspace's secrets; never their values."""
    rows = conn.execute(sa.select(SECRET.c.name, SECRET.c.hosts, SECRET.c.created_at, SECRET.c.updated_at)
                        .where(SECRET.c.workspace_id == workspace_id).order_by(SECRET.c.name))
    return [{**row._mapping, "hosts": [h for h in row.hosts.split(",") if h]} for row in rows]


def load_secrets(conn: Connection, workspace_id: int, names: set[str]) -> dict[str, SecretValue]:
    """The named secrets, decrypted, for the providers of one run (SecretError if one is missing)."""
    if not names:
        return {}
    rows = conn.execute(sa.select(SECRET.c.name, SECRET.c.ciphertext, SECRET.c.hosts).where(
        SECRET.c.workspace_id == workspace_id, SECRET.c.name.in_(sorted(names))))
    fernet, found = _fernet(), {}
    for name, token, hosts in rows:
        try:
            value = fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretError(f"Secret {name!r} cannot be decrypted with the current key "
                              f"({KEY_ENV} or the key file changed); set it again.") from None
        found[name] = SecretValue(name, value, frozenset(h for h in hosts.split(",") if h))
        _redactor.values.add(value)
    missing = names - set(found)
    if missing:
        raise SecretError(f"Missing secret(s): {', '.join(sorted(missing))}; add them with `secret set NAME`.")
    return found


class RedactSecrets(logging.Filter):
    """Replaces known secret values in log records by '***' — a net under the redacted repr,
    for messages that formatted a value by mistake (e.g. an echoed request header)."""

    def __init__(self, values: set[str] | None = None):
        super().__init__()
        self.values: set[str] = set(values or ())

    def filter(self, record: logging.LogRecord) -> bool:
        if self.values:
            message = record.getMessage()
            redacted = message
            for value in self.values:
                if len(value) >= 4:
                    redacted = redacted.replace(value, REDACTED)
            if redacted != message:
                record.msg, record.args = redacted, None
        return True


_redactor = RedactSecrets()
log.addFilter(_redactor)
