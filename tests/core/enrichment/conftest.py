"""Enrichment test setup: loopback hosts allowed, a throw-away secret key, reference files
from the test's temp folder, and a loopback provider server per test module."""

from __future__ import annotations

import os

import pytest
from cryptography.fernet import Fernet

os.environ.setdefault("AUDIENCES_ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("AUDIENCES_SECRET_KEY", Fernet.generate_key().decode())

from tests.core.enrichment.loopback import LoopbackServer  # noqa: E402


@pytest.fixture(scope="module")
def server():
    running = LoopbackServer().start()
    yield running
    running.stop()
