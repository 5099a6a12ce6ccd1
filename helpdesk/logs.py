"""Log lines that say what happened and nothing more.

Every record's message has its control characters escaped (a newline becomes `\\n`), so
that a value from a request (a path, an email) cannot forge a line of its own. Security
events go to the `helpdesk.security` logger through `security_event`, at INFO or
WARNING, naming agent, organization and address, never a secret.
"""

import logging

from flask import Flask, has_request_context, request

security_log = logging.getLogger("helpdesk.security")

# C0 controls, DEL, C1 controls and the Unicode line separators, escaped as Python would.
_ESCAPES = {
    code: repr(chr(code))[1:-1]
    for code in [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]
}
_ESCAPES[ord("\t")] = "\t"  # a tab splits no line


def escape(text: str) -> str:
    """`text` with every control character written out (`\\n`, `\\x00`, ...)."""
    return text.translate(_ESCAPES)


_installed = False


def _install_record_factory() -> None:
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def record(*args, **kwargs) -> logging.LogRecord:
        entry = previous(*args, **kwargs)
        message = entry.getMessage()
        escaped = escape(message)
        if escaped != message:
            entry.msg, entry.args = escaped, None
        return entry

    logging.setLogRecordFactory(record)
    _installed = True


def security_event(event: str, level: int = logging.INFO, **fields) -> None:
    """Log one security event as `event key=value ...`, with the request's address.

    Pass identities (agent, org, key prefix), never a password, key, cookie or token.
    """
    if has_request_context():
        fields.setdefault("address", request.remote_addr)
        fields.setdefault("path", request.path)
    details = " ".join(f"{key}={value}" for key, value in fields.items() if value is not None)
    security_log.log(level, "%s %s", event, details)


def init_app(app: Flask) -> None:
    _install_record_factory()
    app.logger  # noqa: B018  (Flask gives the app's logger its handler on first use)
    if security_log.level == logging.NOTSET:
        security_log.setLevel(logging.INFO)
