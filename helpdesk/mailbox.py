"""The IMAP mailbox the worker polls for customers' mail (the other way in is
`helpdesk ingest-email` from an MTA's pipe; both hand each mail to helpdesk/ingest.py).

A poll reads the folder's messages that lack our keyword, by UID, ingests each and, only
after ingestion committed, flags it `\\Seen` and TAKEN. A worker that dies in between
reads that message again on its next poll, and ingestion stores a Message-ID once: no
mail is lost and none is stored twice. A broken server is logged and tried again at the
next poll; it never stops the worker.
"""

import contextlib
import imaplib
import logging
import ssl
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from . import accounts, ingest
from .extensions import db

log = logging.getLogger("helpdesk.mailbox")

# The keyword marking a message as taken in (IMAP keywords are atoms: no spaces).
TAKEN = "$HelpdeskIngested"
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}


@dataclass(frozen=True)
class Settings:
    """Where the mailbox is and which organization its mail is for (HELPDESK_IMAP_*)."""

    host: str
    port: int
    username: str
    password: str
    folder: str
    tls: str
    org_slug: str
    timeout: float


def settings_from(config) -> Settings | None:
    """The mailbox the configuration names, or None when IMAP_HOST is not set. Values are
    made strings: Flask reads HELPDESK_* variables as JSON, so a password 1234 is a number."""
    if not config.get("IMAP_HOST"):
        return None
    tls = str(config.get("IMAP_TLS") or "ssl").lower()
    if tls not in DEFAULT_PORTS:
        raise RuntimeError(f"IMAP_TLS: {tls!r} is not one of ssl, starttls, none")
    missing = [name for name in ("IMAP_USERNAME", "IMAP_PASSWORD", "IMAP_ORG") if not config.get(name)]
    if missing:
        raise RuntimeError(f"IMAP_HOST is set but {', '.join(missing)} not")
    return Settings(
        host=str(config["IMAP_HOST"]),
        port=int(config.get("IMAP_PORT") or DEFAULT_PORTS[tls]),
        username=str(config["IMAP_USERNAME"]),
        password=str(config["IMAP_PASSWORD"]),
        folder=str(config.get("IMAP_FOLDER") or "INBOX"),
        tls=tls,
        org_slug=str(config["IMAP_ORG"]),
        timeout=float(config.get("IMAP_TIMEOUT") or 30),
    )


def connect(settings: Settings) -> imaplib.IMAP4:
    """A signed-in connection with the folder selected for writing flags."""
    if settings.tls == "ssl":
        imap = imaplib.IMAP4_SSL(
            settings.host, settings.port, ssl_context=ssl.create_default_context(), timeout=settings.timeout
        )
    else:
        imap = imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout)
    try:
        if settings.tls == "starttls":
            imap.starttls(ssl.create_default_context())
        imap.login(settings.username, settings.password)
        status, _ = imap.select(_quoted(settings.folder))
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot select folder {settings.folder!r}")
    except BaseException:
        _close(imap)
        raise
    return imap


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def waiting_uids(imap: imaplib.IMAP4) -> list[bytes]:
    """The UIDs of the messages not taken in yet, oldest first."""
    status, data = imap.uid("SEARCH", "UNKEYWORD", TAKEN)
    if status != "OK":
        raise imaplib.IMAP4.error(f"SEARCH failed: {data!r}")
    return data[0].split() if data and data[0] else []


def fetch(imap: imaplib.IMAP4, uid: bytes) -> bytes | None:
    """The message's bytes, read without setting \\Seen (that waits for the commit)."""
    status, data = imap.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        raise imaplib.IMAP4.error(f"FETCH {uid!r} failed: {data!r}")
    for part in data:
        if isinstance(part, tuple):
            return part[1]
    return None  # expunged by another client meanwhile


def mark_taken(imap: imaplib.IMAP4, uid: bytes) -> None:
    status, data = imap.uid("STORE", uid, "+FLAGS.SILENT", f"(\\Seen {TAKEN})")
    if status != "OK":
        raise imaplib.IMAP4.error(f"STORE {uid!r} failed: {data!r}")


def poll(settings: Settings) -> int:
    """Take in every waiting message once; how many were taken. IMAP and database
    errors are logged and end this poll only: what was not flagged is read next time."""
    org = accounts.org_by_slug(settings.org_slug)
    db.session.rollback()  # end the read: ingestion opens its own transactions
    if org is None:
        log.error("IMAP_ORG %r: no organization with that slug; mail is left waiting", settings.org_slug)
        return 0
    taken = 0
    try:
        imap = connect(settings)
    except (OSError, imaplib.IMAP4.error) as error:
        log.warning("mailbox %s@%s: cannot connect: %s", settings.username, settings.host, error)
        return 0
    try:
        for uid in waiting_uids(imap):
            raw = fetch(imap, uid)
            if raw is not None:
                outcome = ingest.ingest(org, raw)
                log.info("mailbox message %s: %s", uid.decode(), outcome)
            mark_taken(imap, uid)
            taken += 1
    except (OSError, imaplib.IMAP4.error) as error:
        log.warning("mailbox %s@%s: %s; trying again next poll", settings.username, settings.host, error)
    except SQLAlchemyError:
        log.exception("mailbox: database error; the message stays waiting")
        db.session.rollback()
    finally:
        _close(imap)
    return taken


def _close(imap: imaplib.IMAP4) -> None:
    """Log out, or at least close the socket when the server cannot answer LOGOUT."""
    try:
        imap.logout()
    except (OSError, imaplib.IMAP4.error):
        with contextlib.suppress(OSError):  # the connection is gone already
            imap.shutdown()


class Poller:
    """Polls the configured mailbox every IMAP_POLL_SECONDS; `due()` says when."""

    def __init__(self, settings: Settings, interval: float):
        self.settings = settings
        self.interval = interval
        self.next_poll = 0.0

    @classmethod
    def from_config(cls, config) -> "Poller | None":
        """The configured mailbox's poller; None when no mailbox is configured."""
        settings = settings_from(config)
        if settings is None:
            return None
        return cls(settings, float(config["IMAP_POLL_SECONDS"]))

    def poll_if_due(self, now: float) -> int:
        """Poll when the interval has passed since the last poll; how many were taken."""
        if now < self.next_poll:
            return 0
        self.next_poll = now + self.interval
        return poll(self.settings)
