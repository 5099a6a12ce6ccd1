"""Rate-limit counts every worker of this machine shares, with no server to run.

Flask-Limiter's `memory://` storage counts per process: two gunicorn workers let twice
the limit through. By default the counts live here instead, in a small SQLite file in
the instance folder (`sqlite:///<instance>/ratelimits.db`), apart from the helpdesk's own
database so that counting never waits for its write lock. A count is one upsert; losing
the file loses nothing but counts, so it is written without syncing to disk. Several
machines share Redis instead (`HELPDESK_RATELIMIT_STORAGE_URI=redis://…`).

Only the fixed-window strategy (Flask-Limiter's default) is supported.
"""

import contextlib
import itertools
import os
import sqlite3
import threading
import time

from limits.storage import Storage

SCHEMA = """
CREATE TABLE IF NOT EXISTS counts (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL)
"""
# A window that has run out starts again at `amount`; else the count grows.
INCREMENT = """
INSERT INTO counts (key, count, expires) VALUES (:key, :amount, :expires)
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN counts.expires <= :now THEN :amount ELSE counts.count + :amount END,
    expires = CASE WHEN counts.expires <= :now THEN :expires ELSE counts.expires END
RETURNING count
"""
PRUNE_EVERY = 1000  # increments between deletions of windows that ran out


class SQLiteCounts(Storage):
    """`sqlite:///<path>`: fixed-window counters in a SQLite file."""

    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        # As SQLAlchemy writes it: sqlite:///relative/path, sqlite:////absolute/path.
        self.path = uri.removeprefix("sqlite:///") if uri.startswith("sqlite:///") else ""
        if not self.path:
            raise ValueError(f"{uri}: name the counts file, as sqlite:////path/ratelimits.db")
        with contextlib.suppress(FileExistsError):  # readable by its owner only, as the database
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self._prepare_file()
        self._local = threading.local()
        self._increments = itertools.count(1)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _prepare_file(self) -> None:
        """WAL (kept by the file) and the table, once. Switching the journal mode does not
        wait for a lock as statements do, so another process doing the same is retried."""
        connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            for attempt in range(50):
                try:
                    connection.execute("PRAGMA journal_mode=WAL")
                    break
                except sqlite3.OperationalError:
                    if attempt == 49:
                        raise
                    time.sleep(0.02)
            connection.execute(SCHEMA)
        finally:
            connection.close()

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened anew in a forked worker."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA synchronous=OFF")
            local.connection, local.pid = connection, os.getpid()
        return local.connection

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        connection = self._connection()
        values = {"key": key, "amount": amount, "expires": now + expiry, "now": now}
        (count,) = connection.execute(INCREMENT, values).fetchone()
        if next(self._increments) % PRUNE_EVERY == 0:
            connection.execute("DELETE FROM counts WHERE expires <= ?", (now,))
        return count

    def get(self, key: str) -> int:
        row = self._connection().execute(
            "SELECT count FROM counts WHERE key = ? AND expires > ?", (key, time.time())
        ).fetchone()
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._connection().execute("SELECT expires FROM counts WHERE key = ?", (key,)).fetchone()
        return row[0] if row and row[0] > time.time() else time.time()

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._connection().execute("DELETE FROM counts").rowcount

    def clear(self, key: str) -> None:
        self._connection().execute("DELETE FROM counts WHERE key = ?", (key,))
