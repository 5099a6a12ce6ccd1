"""The instance folder and the SQLite files are readable by their owner only."""

import os
import sqlite3
import stat

import pytest
from click.testing import CliRunner

from helpdesk.cli import main


@pytest.fixture
def usual_umask():
    """The umask most systems start with, which lets group and others read new files."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_makes_the_instance_folder_and_database_files_private(tmp_path, monkeypatch, usual_umask):
    instance = tmp_path / "fresh-instance"
    monkeypatch.setenv("HELPDESK_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("HELPDESK_SECRET_KEY", raising=False)
    monkeypatch.delenv("HELPDESK_DATABASE_URL", raising=False)
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 0, result.output
    database = instance / "helpdesk.db"
    # Keep a connection open so that the write-ahead log and its index exist to be checked.
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE probe (x)")
        files = [database, instance / "helpdesk.db-wal", instance / "helpdesk.db-shm"]
        assert all(path.exists() for path in files)
        assert mode(instance) == 0o700
        assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}
        assert mode(instance / "secret_key") == 0o600
    finally:
        connection.close()
