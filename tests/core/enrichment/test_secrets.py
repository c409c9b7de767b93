"""Secrets: encrypted at rest with a key outside the database, never listed, never printed."""

from __future__ import annotations

import logging
import os
import stat

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from audiences_app.core.db import write_transaction
from audiences_app.core.enrichment import secret_store
from audiences_app.core.models import Secret
from audiences_app.settings import get_settings


def test_a_secret_is_stored_encrypted_and_comes_back_only_redacted(engine, workspace_id):
    with write_transaction(engine) as conn:
        secret_store.set_secret(conn, workspace_id, "firmo_key", "sk-live-0123456789")
        stored = conn.execute(sa.select(Secret.__table__.c.ciphertext).where(
            Secret.__table__.c.workspace_id == workspace_id)).scalar_one()
        value = secret_store.load_secrets(conn, workspace_id, {"firmo_key"})["firmo_key"]
        listed = secret_store.list_secrets(conn, workspace_id)
    assert "sk-live" not in stored
    assert value.reveal() == "sk-live-0123456789"
    assert "sk-live" not in repr(value) and "sk-live" not in f"{value}" and "sk-live" not in str(listed)


def test_a_value_that_reaches_a_log_line_is_redacted(engine, workspace_id, caplog):
    with write_transaction(engine) as conn:
        secret_store.set_secret(conn, workspace_id, "leaky", "tok-abcdef-999")
        secret_store.load_secrets(conn, workspace_id, {"leaky"})
    with caplog.at_level(logging.INFO, logger="audiences_app.core.enrichment"):
        logging.getLogger("audiences_app.core.enrichment").info("sent header Bearer %s", "tok-abcdef-999")
    assert "tok-abcdef" not in caplog.text and "Bearer ***" in caplog.text


def test_a_missing_secret_is_named(engine, workspace_id):
    with engine.connect() as conn, pytest.raises(secret_store.SecretError, match="Missing secret.*nope"):
        secret_store.load_secrets(conn, workspace_id, {"nope"})


def test_without_an_env_key_a_0600_key_file_is_created_outside_the_database(engine, workspace_id, tmp_path, monkeypatch):
    monkeypatch.delenv(secret_store.KEY_ENV, raising=False)
    monkeypatch.setenv(secret_store.KEY_FILE_ENV, str(tmp_path / "keys" / "secret.key"))
    get_settings.cache_clear()
    with write_transaction(engine) as conn:
        secret_store.set_secret(conn, workspace_id, "filed", "value-1")
    mode = stat.S_IMODE(os.stat(tmp_path / "keys" / "secret.key").st_mode)
    assert mode == 0o600
    monkeypatch.setenv(secret_store.KEY_ENV, Fernet.generate_key().decode())  # another key cannot read it
    get_settings.cache_clear()
    with engine.connect() as conn, pytest.raises(secret_store.SecretError, match="cannot be decrypted"):
        secret_store.load_secrets(conn, workspace_id, {"filed"})


def test_the_secret_key_setting_never_shows_in_a_repr_and_bad_intervals_are_refused(monkeypatch):
    key = Fernet.generate_key().decode()
    monkeypatch.setenv(secret_store.KEY_ENV, key)
    monkeypatch.setenv("AUDIENCES_AUTO_ENRICH_SECONDS", "1")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="auto_enrich_seconds"):
        get_settings()
    monkeypatch.setenv("AUDIENCES_AUTO_ENRICH_SECONDS", "60")
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.auto_enrich_seconds == 60 and key not in repr(settings) and key not in str(settings.model_dump())
