"""open_journal: one configured URL to the journal it names, clear errors for the rest."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from alphagate.adapters.journal import (
    JournalError,
    JournalUnavailable,
    RedisJournal,
    SqliteJournal,
    open_journal,
)


def test_a_relative_sqlite_url_opens_a_file_under_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    journal = open_journal("sqlite:///state/journal.db")
    assert isinstance(journal, SqliteJournal)
    journal.close()
    assert (tmp_path / "state" / "journal.db").is_file()


def test_an_absolute_sqlite_url_takes_four_slashes(tmp_path: Path):
    path = tmp_path / "abs.db"
    with open_journal(f"sqlite:///{path}") as journal:  # path starts with "/"
        assert isinstance(journal, SqliteJournal)
        assert journal.path == path


def test_a_redis_url_opens_the_named_stream(redis_url: str, stream_key: str):
    journal = open_journal(f"{redis_url}?stream={stream_key}")
    assert isinstance(journal, RedisJournal)
    assert journal.stream_key == stream_key
    assert journal.append("tick", {}) == 1
    journal.close()


def test_a_password_given_apart_reaches_the_server_and_never_the_message():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(JournalUnavailable) as caught:
        open_journal(f"redis://127.0.0.1:{port}/0", password="hunter2-secret")
    assert "hunter2" not in str(caught.value)
    assert ":***@127.0.0.1" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("journal.db", "not a journal URL"),
        ("postgresql://h/db", "scheme 'postgresql'"),
        ("sqlite://", "not a journal URL"),
        ("sqlite:///", "names no file"),
        ("sqlite:///j.db?mode=ro", r"unknown options \['mode'\]"),
        ("sqlite:///j.db?mirror=http://h", "not a Redis URL"),
        ("ftp://:pw@h", "ftp://:\\*\\*\\*@h"),
    ],
)
def test_urls_it_cannot_use_are_refused_with_the_accepted_forms(
    url: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(JournalError, match=message):
        open_journal(url)


def test_a_refused_mirror_url_releases_the_sqlite_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(JournalError):
        open_journal("sqlite:///j.db?mirror=http://h")
    with open_journal("sqlite:///j.db") as journal:
        assert journal.append("tick", {}) == 1
