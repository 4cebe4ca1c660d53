"""Real redis-server processes on loopback for the Redis journal tests; no fakes.

``redis_url`` is one server for the whole session: ``REDIS_URL`` when CI
exported one, else a server started here on a free port. ``redis_server``
is a server of the test's own that the test may stop and start again (the
mirror's outage tests). Without a ``redis-server`` binary the tests skip,
saying how to get one; CI installs it, so there they always run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

_BINARY = shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """One redis-server on 127.0.0.1, stopped and started by its own pid."""

    def __init__(self, folder: Path, *, password: str | None = None) -> None:
        assert _BINARY is not None
        self.port = _free_port()
        self.folder = folder
        self.password = password
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert _BINARY is not None
        args = [_BINARY, "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
        args += ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.folder)]
        if self.password:
            args += ["--requirepass", self.password]
        log = (self.folder / "redis.log").open("ab")
        self._process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    reply = sock.recv(64)
                if reply.startswith((b"+PONG", b"-NOAUTH")):
                    return
            except OSError:
                pass
            if self._process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        log_text = (self.folder / "redis.log").read_text(errors="replace")
        pytest.fail(f"redis-server did not start on port {self.port}:\n{log_text}")

    def stop(self) -> None:
        """Kill the server outright (SIGKILL): an outage, not a polite shutdown."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None


def _require_binary() -> None:
    if _BINARY is None:
        pytest.skip(
            "redis-server is not installed: `apt-get install redis-server` "
            "(CI's .ci/run does), or export REDIS_URL to a running server"
        )


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis server for the session: CI's ``REDIS_URL``, or one started here."""
    exported = os.environ.get("REDIS_URL")
    if exported:
        yield exported
        return
    _require_binary()
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A server of this test's own, started; the test may stop and restart it."""
    _require_binary()
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stream_key() -> str:
    """A key no other test uses, so tests share the session's server safely."""
    return f"test:{uuid.uuid4().hex}"
