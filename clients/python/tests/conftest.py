"""Shared fixtures: the helpers in tests/support, a fake daemon, short socket directories."""
import os
import shutil
import sys
import tempfile
from typing import Iterator

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))

from fake_daemon import FakeDaemon  # noqa: E402


@pytest.fixture
def short_dir() -> Iterator[str]:
    # Unix socket paths are limited to 107 bytes; pytest's tmp_path can be longer.
    directory = tempfile.mkdtemp(prefix="dmc-", dir="/tmp")
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def fake(short_dir: str) -> Iterator[FakeDaemon]:
    daemon = FakeDaemon(short_dir)
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture(autouse=True)
def no_socket_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests choose their socket explicitly; a developer's DRUM_MONITOR_SOCKET must not leak in.
    monkeypatch.delenv("DRUM_MONITOR_SOCKET", raising=False)
    monkeypatch.delenv("DRUM_MONITOR_PATCH", raising=False)
