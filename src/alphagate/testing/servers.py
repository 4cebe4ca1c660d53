"""Real servers on loopback for tests: a redis-server and a throwaway PostgreSQL cluster.

The Redis journal and the trading database are tested against the servers
they run on in production, never fakes. Each server here listens on
127.0.0.1 only, on a free port, and is stopped by its own pid. CI exports
``REDIS_URL`` and ``ALPHAGATE_TEST_PG_URL`` for servers it started
(``.ci/run``); without them a test session starts its own, or skips when the
binaries are missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REDIS_BINARY = shutil.which("redis-server")
PG_URL_VARIABLE = "ALPHAGATE_TEST_PG_URL"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """One redis-server on 127.0.0.1 (append-only, fsync always), stopped by its own pid."""

    def __init__(self, folder: Path, *, password: str | None = None) -> None:
        if REDIS_BINARY is None:
            raise RuntimeError("redis-server is not installed: apt-get install redis-server")
        self.port = free_port()
        self.folder = folder
        self.password = password
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's URL, with its password when it has one."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers (10 s at most)."""
        assert REDIS_BINARY is not None
        args = [REDIS_BINARY, "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
        args += ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.folder)]
        if self.password:
            args += ["--requirepass", self.password]
        with (self.folder / "redis.log").open("ab") as log:
            self._process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
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
        raise RuntimeError(f"redis-server did not start on port {self.port}:\n{log_text}")

    def stop(self) -> None:
        """Kill the server outright (SIGKILL): an outage, not a polite shutdown."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None


@dataclass(frozen=True)
class PostgresServer:
    """A PostgreSQL server tests may create databases on, reached through ``admin_url``."""

    admin_url: str

    def create_database(self) -> str:
        """Create an empty database and return its URL."""
        from sqlalchemy.engine import make_url

        name = f"alphagate_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE DATABASE "{name}"')
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database`, closing what still uses it."""
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _execute(self, statement: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()


def postgres_binaries() -> Path | None:
    """The newest installed PostgreSQL's binaries (Debian layout), if any."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts[-3])
    return found[-1].parent if found else None


def _run_as_cluster_owner(*command: str) -> None:
    """Run a PostgreSQL tool; it refuses to run as root, so as the ``postgres`` user then."""
    owned = ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)
    subprocess.run(owned, check=True, capture_output=True, timeout=120)


@contextmanager
def postgres_cluster(bindir: Path) -> Iterator[PostgresServer]:
    """A throwaway cluster on a free loopback port (no fsync), removed on exit."""
    folder = Path(tempfile.mkdtemp(prefix="alphagate-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", free_port()
    ctl = str(bindir / "pg_ctl")
    _run_as_cluster_owner(
        str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
        "--locale=C.UTF-8",
    )  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off"
    log = str(folder / "pg.log")
    _run_as_cluster_owner(ctl, "-D", str(data), "-l", log, "-w", "-t", "30", "-o", options, "start")
    try:
        yield PostgresServer(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres")
    finally:
        _run_as_cluster_owner(ctl, "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)
