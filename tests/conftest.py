"""Fixtures shared by every test folder.

``gspc_bars`` and ``two_symbol_bars`` are the frames several modules need;
they are built once per session, so a test that changes one must change a
copy. Other frames come from :mod:`alphagate.testing` where a test builds them.

``workspace`` and ``settings`` are a module's folder for small training
runs and the default settings whose feature cache and state database live
in it; a module that needs other settings defines its own.

``read_page`` reads an HTML report back the way a browser would take it in,
with the standard library's parser only, so the report tests check what a
reader sees (tables cell by cell, scripts, images, section order) rather than
the exact markup the code under test happens to write.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from alphagate.config import Settings
from alphagate.testing import bundled_bars, synthetic_bars
from alphagate.testing.network import loopback_only
from alphagate.testing.servers import (
    PG_URL_VARIABLE,
    REDIS_BINARY,
    PostgresServer,
    RedisServer,
    postgres_binaries,
    postgres_cluster,
)


@pytest.fixture(scope="session", autouse=True)
def _loopback_only() -> Iterator[None]:
    """Every test: a connection outside loopback fails (broker code never reaches a real venue)."""
    with loopback_only():
        yield


_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "source", "track", "wbr"})  # fmt: skip


@dataclass
class HtmlCell:
    tag: str
    attrs: dict[str, str]
    text: str = ""


@dataclass
class HtmlRow:
    attrs: dict[str, str]
    cells: list[HtmlCell] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [cell.text for cell in self.cells]


@dataclass
class HtmlTable:
    section: str
    attrs: dict[str, str]
    rows: list[HtmlRow] = field(default_factory=list)

    @property
    def texts(self) -> list[list[str]]:
        return [row.texts for row in self.rows]


class HtmlPage(HTMLParser):
    """A parsed page: its tables, scripts, images, sections, headings and any unbalanced tags."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.doctype = ""
        self.tags: Counter[str] = Counter()
        self.open: list[str] = []
        self.unbalanced: list[str] = []
        self.sections: list[str] = []
        self.headings: list[tuple[str, str]] = []
        self.tables: list[HtmlTable] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self.images: list[dict[str, str]] = []
        self.title = ""
        self._cell: HtmlCell | None = None
        self._heading: tuple[str, list[str]] | None = None
        self._script: tuple[dict[str, str], list[str]] | None = None
        self._in_title = False
        self.feed(text)
        self.close()
        self.unbalanced += self.open

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        self.tags[tag] += 1
        if tag not in _VOID:
            self.open.append(tag)
        if tag == "section":
            self.sections.append(attributes.get("id", ""))
        elif tag in {"h1", "h2", "h3"}:
            self._heading = (tag, [])
        elif tag == "table":
            self.tables.append(HtmlTable(self.sections[-1] if self.sections else "", attributes))
        elif tag == "tr":
            self.tables[-1].rows.append(HtmlRow(attributes))
        elif tag in {"td", "th"}:
            self._cell = HtmlCell(tag, attributes)
            self.tables[-1].rows[-1].cells.append(self._cell)
        elif tag == "script":
            self._script = (attributes, [])
        elif tag == "img":
            self.images.append(attributes)
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if self.open and self.open[-1] == tag:
            self.open.pop()
        else:
            self.unbalanced.append(tag)
        if tag in {"td", "th"}:
            self._cell = None
        elif tag in {"h1", "h2", "h3"} and self._heading is not None:
            self.headings.append((self._heading[0], "".join(self._heading[1])))
            self._heading = None
        elif tag == "script" and self._script is not None:
            self.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script[1].append(data)
            return
        if self._cell is not None:
            self._cell.text += data
        if self._heading is not None:
            self._heading[1].append(data)
        if self._in_title:
            self.title += data

    def table(self, css_class: str) -> HtmlTable:
        """The one table whose ``class`` is ``css_class``."""
        found = [t for t in self.tables if css_class in t.attrs.get("class", "").split()]
        assert len(found) == 1, f"expected one table of class {css_class!r}, got {len(found)}"
        return found[0]

    def assert_self_contained(self) -> None:
        """Well formed, and nothing it shows or runs is fetched from anywhere."""
        assert self.doctype.lower() == "doctype html"
        assert self.unbalanced == [], f"unbalanced tags: {self.unbalanced[:5]}"
        assert self.tags["html"] == self.tags["head"] == self.tags["body"] == 1
        assert self.tags["title"] == 1 and self.tags["style"] <= 1
        assert not self.tags["link"] and not self.tags["iframe"] and not self.tags["object"]
        assert all("src" not in attrs for attrs, _ in self.scripts), "a script loads a file"
        assert all(image.get("src", "").startswith("data:") for image in self.images)


@pytest.fixture(scope="session")
def read_page() -> Callable[[str], HtmlPage]:
    """Parse an HTML page with the standard library (see :class:`HtmlPage`)."""
    return HtmlPage


@pytest.fixture(scope="session")
def gspc_bars() -> pd.DataFrame:
    """The bundled S&P 500 daily bars, 1999-2018: real prices for parity and engine checks."""
    return bundled_bars(["^GSPC"])


@pytest.fixture(scope="session")
def two_symbol_bars() -> pd.DataFrame:
    """Synthetic AAA and BBB on XNYS sessions, 2017-2019: enough history to train and hold out."""
    return synthetic_bars(["AAA", "BBB"], "2017-01-01", "2019-12-31")


@pytest.fixture(scope="module")
def workspace(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder per test module for its runs, feature cache and database."""
    return tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2])


@pytest.fixture(scope="module")
def settings(workspace: Path) -> Settings:
    """Default settings with the feature cache, databases and kill switch in ``workspace``."""
    return Settings.model_validate(
        {
            "features": {"cache_dir": workspace / "features"},
            "storage": {
                "database_url": f"sqlite:///{workspace / 'state.db'}",
                "trading_database_url": f"sqlite:///{workspace / 'trading.db'}",
            },
            "risk": {"kill_switch_state": workspace / "kill_switch.json"},
        }
    )


# -- real servers on loopback (alphagate.testing.servers) ---------------------------------


def _require_redis() -> None:
    if REDIS_BINARY is None:
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
    _require_redis()
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A server of this test's own, started; the test may stop and restart it."""
    _require_redis()
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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The server of ``ALPHAGATE_TEST_PG_URL``, or a throwaway local cluster, or a skip."""
    given = os.environ.get(PG_URL_VARIABLE)
    if given:
        yield PostgresServer(given)
        return
    bindir = postgres_binaries()
    if bindir is None:
        pytest.skip(
            f"PostgreSQL cases need {PG_URL_VARIABLE} or a local PostgreSQL "
            "(apt-get install postgresql); neither was found"
        )
    with postgres_cluster(bindir) as server:
        yield server


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
