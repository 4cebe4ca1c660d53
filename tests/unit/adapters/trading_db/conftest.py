"""A fresh trading database per test, on SQLite and on a real PostgreSQL.

``database_url`` is parametrized over both backends, so every store test
runs twice. PostgreSQL comes from ``ALPHAGATE_TEST_PG_URL`` when it is set
(``.ci/run`` starts a server and sets it); otherwise, when Debian's
PostgreSQL is installed, a throwaway cluster is started once per session on
a free loopback port (the recipe of ``../shared/SERVICES.md``) and stopped
at the end. Without either, the PostgreSQL cases are skipped and say why.
Each test gets its own database, created and dropped around it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_URL_VARIABLE = "ALPHAGATE_TEST_PG_URL"


@dataclass(frozen=True)
class PostgresServer:
    """A PostgreSQL server the tests may create databases on, reached through ``admin_url``."""

    admin_url: str

    def create_database(self) -> str:
        """Create an empty database and return its URL."""
        name = f"alphagate_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE DATABASE "{name}"')
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database`, closing what still uses it."""
        name = make_url(url).database
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _execute(self, statement: str) -> None:
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()


def _postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's binaries (Debian layout), if any."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts[-3])
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_as_cluster_owner(*command: str) -> None:
    """Run a PostgreSQL tool; it refuses to run as root, so as the ``postgres`` user then."""
    owned = ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)
    subprocess.run(owned, check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The server of ``ALPHAGATE_TEST_PG_URL``, or a throwaway local cluster, or a skip."""
    given = os.environ.get(PG_URL_VARIABLE)
    if given:
        yield PostgresServer(given)
        return
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip(
            f"PostgreSQL cases need {PG_URL_VARIABLE} or a local PostgreSQL "
            "(apt-get install postgresql); neither was found"
        )
    folder = Path(tempfile.mkdtemp(prefix="alphagate-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", _free_port()
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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty trading database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'trading.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)
