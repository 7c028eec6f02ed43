"""Shared fixtures: the helpers in tests/support, a fake daemon, short socket directories."""
import os
import shutil
import sys
import tempfile
import threading
from typing import Any, Dict, Iterator, List

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


class Records:
    """An on_complete callback that keeps the finished records and waits for them."""

    def __init__(self) -> None:
        self.items: List[Dict[str, Any]] = []
        self.cond = threading.Condition()

    def __call__(self, info: Any) -> None:
        with self.cond:
            self.items.append(info.to_dict())
            self.cond.notify_all()

    def wait(self, count: int) -> List[Dict[str, Any]]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.items) >= count, timeout=10), self.items
            return list(self.items)


@pytest.fixture
def records(fake: FakeDaemon) -> Iterator[Records]:
    """Records of requests whose peaks resolve against the fake daemon, sampling every 10 ms."""
    from drum_monitor_client import Client, recorder

    fake.start_sampling(0.01)
    recorder.configure(Client(fake.path))
    yield Records()
    recorder.configure()


def run_in_fork(body: Any) -> bytes:
    """Runs ``body()`` (returning bytes) in a forked child and returns what it returned, or the
    repr of what it raised."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.close(read)
        try:
            answer = body()
        except BaseException as error:
            answer = repr(error).encode()
        os.write(write, answer)
        os._exit(0)
    os.close(write)
    chunks = []
    while True:
        chunk = os.read(read, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read)
    os.waitpid(child, 0)
    return b"".join(chunks)
