"""Configuration defaults and how the environment overrides them."""

import os
from pathlib import Path

from flask import Flask


class Defaults:
    """Settings every instance starts from; `instance/config.py` and HELPDESK_* override them."""

    SECRET_KEY = None
    DATABASE_URL = None  # None means instance/helpdesk.db
    BASE_URL = "http://127.0.0.1:5000"
    MAX_CONTENT_LENGTH = 256 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    # Sessions are kept server-side (auth.py, agent_sessions). Without "keep me signed in"
    # a sign-in ends after SESSION_IDLE_SECONDS without a request or SESSION_MAX_SECONDS
    # after it began; with it, REMEMBER_SECONDS after it began (at most 30 days).
    SESSION_IDLE_SECONDS = 2 * 3600
    SESSION_MAX_SECONDS = 12 * 3600
    REMEMBER_SECONDS = 14 * 86400
    SESSION_TOUCH_SECONDS = 60  # how often a request records that the session is in use
    # Flask-Login's own remember cookie is not used: auth.py sets `remember_token` itself.
    REMEMBER_COOKIE_NAME = "flask_login_remember_unused"
    WTF_CSRF_TIME_LIMIT = None  # agents keep pages open all day
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # Proxies in front that set X-Forwarded-For/-Proto (0: clients connect directly). The
    # sign-in throttle and the security log then see the client's address, not the proxy's.
    PROXIES = 0
    RATELIMIT_ENABLED = True
    # None: one count for all workers of this machine, in instance/ratelimits.db
    # (helpdesk/ratelimits.py); redis://… for several machines.
    RATELIMIT_STORAGE_URI = None
    RATELIMIT_API = "600 per minute"
    RATELIMIT_HEADERS_ENABLED = True
    # werkzeug's hash method for passwords; tests use a cheap one to stay fast.
    PASSWORD_HASH_METHOD = "scrypt"
    # Sign-in throttling (auth.py): an account from one address gets LOGIN_MAX_FAILURES
    # tries, then waits LOGIN_LOCKOUT_SECONDS, twice that after the next failure, and so on
    # up to LOGIN_LOCKOUT_MAX_SECONDS; its failures are forgotten a day after the last.
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCKOUT_SECONDS = 300
    LOGIN_LOCKOUT_MAX_SECONDS = 6 * 3600
    LOGIN_FAILURES_KEPT_SECONDS = 86400
    LOGIN_MAX_FAILURES_PER_ADDRESS = 20  # higher: an office shares one address
    SMTP_HOST = None
    SMTP_PORT = 25
    SMTP_USERNAME = None
    SMTP_PASSWORD = None
    SMTP_FROM = "helpdesk@localhost"
    SMTP_STARTTLS = False
    SMTP_TIMEOUT = 10
    # Where customers write to and answer; None: SMTP_FROM. Replies carry
    # Reply-To: local+TICKET@domain of it.
    SUPPORT_ADDRESS = None
    # Mail taken in (helpdesk/ingest.py): bigger mail is refused, and a sender with
    # INGEST_FLOOD_LIMIT mails in INGEST_FLOOD_SECONDS is ignored until the window passes.
    INGEST_MAX_BYTES = 10 * 1024 * 1024
    INGEST_FLOOD_LIMIT = 20
    INGEST_FLOOD_SECONDS = 600
    # The mailbox the worker polls (helpdesk/mailbox.py), for the organization IMAP_ORG;
    # no IMAP_HOST: none. IMAP_TLS is ssl, starttls or none; IMAP_PORT defaults by it.
    IMAP_HOST = None
    IMAP_PORT = None
    IMAP_USERNAME = None
    IMAP_PASSWORD = None
    IMAP_FOLDER = "INBOX"
    IMAP_TLS = "ssl"
    IMAP_ORG = None
    IMAP_POLL_SECONDS = 60
    IMAP_TIMEOUT = 30
    WEBHOOK_ALLOW_PRIVATE = False
    WEBHOOK_TIMEOUT = 5  # seconds to connect, and between bytes of the answer
    OUTBOX_MAX_ATTEMPTS = 8
    # A claimed row comes back to the queue after this long if its worker died;
    # keep it above twice SMTP_TIMEOUT and WEBHOOK_TIMEOUT.
    OUTBOX_LEASE_SECONDS = 60
    OUTBOX_BATCH_SIZE = 20
    OUTBOX_POLL_SECONDS = 1.0
    # Live signals older than this are deleted by the worker; open pages poll every second.
    LIVE_EVENTS_KEEP_SECONDS = 3600
    OUTBOX_BACKOFF_SECONDS = 30  # first retry delay; doubles per attempt, with jitter
    OUTBOX_BACKOFF_MAX_SECONDS = 3600
    OUTBOX_WORKER_NICE = 10  # added to the worker's niceness (0 keeps its priority)
    CLASSIFIER_THRESHOLD = 0.6
    METADATA_MAX_BYTES = 16 * 1024
    METADATA_MAX_DEPTH = 8


def load(app: Flask, test_config: dict | None) -> None:
    """Defaults, then instance/config.py, then HELPDESK_* variables, then test_config."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env(prefix="HELPDESK")
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        secret_file = Path(app.instance_path) / "secret_key"
        if secret_file.exists():
            app.config["SECRET_KEY"] = secret_file.read_text().strip()
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError(
            "No secret key: set HELPDESK_SECRET_KEY or run `helpdesk init` to create one."
        )
    if app.config["BASE_URL"].lower().startswith("https://"):
        # Served over HTTPS: cookies never travel in clear (security.py adds HSTS).
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = True
    if not 0 < app.config["REMEMBER_SECONDS"] <= MAX_REMEMBER_SECONDS:
        raise RuntimeError("REMEMBER_SECONDS must be between 1 and 30 days (2592000 s).")
    if not app.config["RATELIMIT_STORAGE_URI"]:
        app.config["RATELIMIT_STORAGE_URI"] = "sqlite:///" + str(Path(app.instance_path) / "ratelimits.db")
    url = app.config.get("SQLALCHEMY_DATABASE_URI") or app.config["DATABASE_URL"]
    if not url:
        url = "sqlite:///" + str(Path(app.instance_path) / "helpdesk.db")
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgres://")
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    app.config["SQLALCHEMY_DATABASE_URI"] = url


def instance_path() -> str | None:
    """The instance folder named by HELPDESK_INSTANCE_PATH, made absolute."""
    path = os.environ.get("HELPDESK_INSTANCE_PATH")
    return str(Path(path).resolve()) if path else None


MAX_REMEMBER_SECONDS = 30 * 86400

MIGRATIONS = Path(__file__).parent / "migrations"
