"""Database engine set-up and the one way to run a write transaction.

SQLite: every connection gets WAL, a busy timeout, foreign keys and synchronous=NORMAL.
Writers queue on an exclusive `flock` of a file beside the database before they open an
IMMEDIATE transaction. The kernel wakes waiters as soon as the lock frees, so a write
never sleeps in SQLite's busy handler and never fails on an upgraded read lock. No commit
checkpoints the write-ahead log; a thread per process does (`Checkpointer`).

PostgreSQL: services lock the organization row (`lock_organization`, here), which
serializes number allocation, quota checks and assignment per organization.

Hot paths write side rows with `add_rows` (Core INSERTs, no unit of work) and run
statements built once at import with `execute`.
"""

import fcntl
import itertools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from functools import cache
from weakref import WeakKeyDictionary

from flask import Flask
from sqlalchemy import Insert, Table, event, insert, select
from sqlalchemy.engine import Engine, Result
from sqlalchemy.sql import Executable

from .extensions import db
from .models import Organization

_immediate: ContextVar[bool] = ContextVar("immediate", default=False)


def init_app(app: Flask) -> None:
    """Bind SQLAlchemy and tune SQLite connections."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options["connect_args"] = {
            **options.get("connect_args", {}), "timeout": 30, "check_same_thread": False
        }
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    if url.startswith("sqlite"):
        with app.app_context():
            _tune_sqlite(db.engine)


def _tune_sqlite(engine: Engine) -> None:

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control away from the sqlite3 module so that BEGIN is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # No commit copies the log into the database while holding the write lock;
        # the checkpointer thread does it beside the writers (see `Checkpointer`).
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")

    checkpointers[engine] = Checkpointer(engine)


class Checkpointer:
    """Copies SQLite's write-ahead log into the database from a thread of its own.

    SQLite's automatic checkpoint runs inside whichever commit crosses the log's size
    limit: that request copies and syncs a thousand pages while the next writers wait.
    Here a commit only nudges this thread every `EVERY` writes. It copies what it can
    beside the writers (PASSIVE), then takes the write lock for the few pages written
    meanwhile, so that the next writer starts the log afresh instead of growing it.
    """

    EVERY = 50
    IDLE_SECONDS = 30  # the thread ends after this long without writes

    def __init__(self, engine: Engine):
        self.engine = engine
        self.writes = itertools.count(1)
        self.due = threading.Event()
        self.thread: threading.Thread | None = None

    def wrote(self) -> None:
        """Count a commit; every `EVERY`th wakes the thread (started anew after a fork)."""
        if next(self.writes) % self.EVERY:
            return
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
            self.thread.start()
        self.due.set()

    def _run(self) -> None:
        while self.due.wait(timeout=self.IDLE_SECONDS):
            self.due.clear()
            connection = self.engine.raw_connection()
            try:
                self._checkpoint(connection.driver_connection)
            finally:
                connection.close()

    def _checkpoint(self, connection) -> None:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        with write_lock(self.engine.url.database):
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


# Each SQLite engine's checkpointer (see `Checkpointer`).
checkpointers: WeakKeyDictionary[Engine, Checkpointer] = WeakKeyDictionary()


@cache
def _insert(table: Table) -> Insert:
    # One statement object per table: SQLAlchemy memoizes its cache key on the object.
    return insert(table)


def execute(statement: Executable, params: dict | None = None) -> Result:
    """Run a Core statement on the session's connection, in its transaction.

    Hot paths use module-level statements with bound parameters: built once, their
    compiled form is found in SQLAlchemy's cache without rebuilding the statement.
    """
    return db.session.connection().execute(statement, params)


def add_rows(model: type[db.Model] | Table, *rows: dict) -> None:
    """Insert rows into `model`'s table in the session's transaction, skipping the ORM.

    For rows that a change writes and nobody edits in the same transaction (the ticket
    itself at creation, audit events, notifications, outbox rows, live signals): a Core
    INSERT costs a fraction of the ORM's unit of work, which matters inside the write lock.
    Values are keyed by column name; Python-side column defaults apply.
    """
    table = model if isinstance(model, Table) else model.__table__
    execute(_insert(table), list(rows))


def add_row(model: type[db.Model], **values) -> int:
    """Insert one row as `add_rows` does; its primary key."""
    return execute(_insert(model.__table__), values).inserted_primary_key[0]


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


@contextmanager
def write_lock(database: str | None) -> Iterator[None]:
    """Hold the exclusive `flock` beside the SQLite file `database` that queues its writers."""
    if not database or database == ":memory:":
        yield
        return
    lock_fd = os.open(database + ".writelock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(lock_fd)  # closing the descriptor releases the lock


@contextmanager
def _immediately() -> Iterator[None]:
    """Transactions begun in the block begin with BEGIN IMMEDIATE (see `_tune_sqlite`)."""
    token = _immediate.set(True)
    try:
        yield
    finally:
        _immediate.reset(token)


@contextmanager
def write_transaction() -> Iterator[None]:
    """Run the block as one write transaction: commit on success, roll back on error.

    Whatever read transaction the session had is ended first, so the write starts from
    fresh state. On SQLite it queues on the write lock and holds it to the end.
    """
    if db.session().in_transaction():
        db.session.commit()
    sqlite = is_sqlite()
    with write_lock(db.engine.url.database) if sqlite else nullcontext():
        try:
            if sqlite:
                with _immediately():
                    db.session.connection()  # BEGIN IMMEDIATE now, inside the lock
            yield
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
    if sqlite:
        checkpointers[db.engine].wrote()


def lock_organization(org_id: int) -> None:
    """Serialize this organization's writers until the write transaction ends.

    SQLite already holds the database's write lock (`write_transaction`); PostgreSQL takes
    a row lock on the organization.
    """
    if not is_sqlite():
        db.session.execute(select(Organization.id).where(Organization.id == org_id).with_for_update())
