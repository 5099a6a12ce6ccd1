"""Mail taken in: a customer's answer goes onto its ticket, other mail opens a ticket.

One service for both ways mail arrives (`helpdesk ingest-email` from an MTA pipe, and
the worker polling IMAP, helpdesk/mailbox.py). Each mail ends one of four ways: added to
a ticket, opened one, ignored (automatic mail, our own, a flood: nothing written), or
failed (bad input: an `IngestFailure` row, nothing else). The same Message-ID twice is
stored once, whether it answered a ticket or opened one.
"""

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from flask import current_app
from mailparser_reply import EmailReplyParser
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from . import audit, tickets
from .customers import CustomerRef, normalize_email
from .db import write_transaction
from .extensions import db
from .markdown import Rendered, rendered
from .models import (
    Channel,
    Customer,
    IngestFailure,
    Message,
    MessageRole,
    Organization,
    Status,
    Ticket,
    utcnow,
)
from .validation import InvalidValue

log = logging.getLogger("helpdesk.ingest")

# How much of a failed mail the admin page keeps to show.
RAW_KEPT = 8 * 1024
# A customer's answer brings these back to OPEN (the spec makes no status final).
REOPENED = (Status.WAITING, Status.RESOLVED, Status.CLOSED)
REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl"]
MAX_SUBJECT = 255
# The answer is at the top and is cut to MAX_DESCRIPTION anyway: the stripper reads no
# more than this of a long mail, which keeps its cost bounded.
STRIP_WINDOW = 4 * tickets.MAX_DESCRIPTION

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
THREAD_ROOT = re.compile(rf"^<?ticket-({UUID})@", re.IGNORECASE)
OUR_MESSAGE = re.compile(rf"^<?m-({UUID})@", re.IGNORECASE)
ADDRESS_TOKEN = re.compile(rf"\+({UUID})@", re.IGNORECASE)
MESSAGE_IDS = re.compile(r"<[^<>\s]+>")
BOUNCE_SENDERS = {"mailer-daemon", "postmaster"}


class BadMail(Exception):
    """Mail that cannot be taken in; the message names what is wrong with it."""


@dataclass(frozen=True)
class Outcome:
    """How one mail ended: added, opened, duplicate, ignored or failed."""

    action: str
    detail: str
    ticket: str | None = None  # the ticket's reference, when it reached one

    def __str__(self) -> str:
        return f"{self.action}: {self.detail}"


@dataclass(frozen=True)
class Mail:
    """What ingestion reads of a parsed email, as plain text."""

    message_id: str
    sender: str
    sender_name: str | None
    subject: str
    thread_ids: list[str]  # In-Reply-To, then References from the newest
    recipients: list[str]
    text: str  # the whole body as text, quotes and signature included
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def answer(self) -> str:
        """The new part of the body: without quoted history and signature (the whole
        text when stripping leaves nothing, e.g. a forwarded mail)."""
        return strip_reply(self.text[:STRIP_WINDOW]) or self.text.strip()


# Parsing


def parse(raw: bytes) -> Mail:
    """Read an RFC 822 message; BadMail names what makes it unusable."""
    try:
        message = message_from_bytes(raw, policy=policy.default)
        sender_name, sender = _sender(message)
        text = body_text(message)
        return Mail(
            message_id=_message_id(message, raw),
            sender=sender,
            sender_name=sender_name,
            subject=_clean(str(message.get("Subject", "")).strip())[:MAX_SUBJECT],
            thread_ids=_thread_ids(message),
            recipients=_recipients(message),
            text=_clean(text),
            headers={
                name: str(message.get(name, "")).strip().lower()
                for name in ("Auto-Submitted", "Precedence", "Return-Path")
            } | {"Content-Type": message.get_content_type()},
        )
    except BadMail:
        raise
    except LookupError as error:  # a charset Python does not know
        raise BadMail(f"body: undecodable charset ({error})") from None
    except Exception as error:
        # The stdlib's header parser raises assorted errors on malformed headers; any of
        # them means the mail is unreadable, not that ingestion is broken.
        raise BadMail(f"unreadable mail ({error.__class__.__name__}: {error})") from None


def _clean(text: str) -> str:
    """Text fit for any database: PostgreSQL refuses NUL characters."""
    return text.replace("\x00", "")


def _sender(message: EmailMessage) -> tuple[str | None, str]:
    """The From address (lower-case) and display name; BadMail without a usable one."""
    header = message.get("From")
    addresses = getattr(header, "addresses", ()) if header is not None else ()
    if not addresses:
        raise BadMail("From: missing or not an address")
    address: Address = addresses[0]
    email = normalize_email(address.addr_spec)
    if not email or "@" not in email or len(email) > 254:
        raise BadMail(f"From: {str(header)[:100]!r} is not an email address")
    return (_clean(address.display_name)[:255] or None), _clean(email)


def _message_id(message: EmailMessage, raw: bytes) -> str:
    """The mail's Message-ID; without one, a stand-in made from its bytes, so that the same
    mail twice is still recognised."""
    found = MESSAGE_IDS.findall(str(message.get("Message-ID", "")))
    if found and len(found[0]) <= 255:
        return _clean(found[0])
    return f"<sha256-{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id>"


def _thread_ids(message: EmailMessage) -> list[str]:
    """The Message-IDs the mail answers: In-Reply-To first, then References newest first."""
    in_reply_to = MESSAGE_IDS.findall(str(message.get("In-Reply-To", "")))
    references = MESSAGE_IDS.findall(str(message.get("References", "")))
    return list(dict.fromkeys([*in_reply_to, *reversed(references)]))


def _recipients(message: EmailMessage) -> list[str]:
    """Every address the mail was sent to, envelope headers included (where a
    `+TOKEN` of our Reply-To survives when a client drops it from To)."""
    values = []
    for name in ("To", "Cc", "Delivered-To", "X-Original-To"):
        values += [str(value) for value in message.get_all(name, [])]
    return [address.lower() for _, address in getaddresses(values) if address]


def body_text(message: EmailMessage) -> str:
    """The body as text: the plain part, else the HTML part made text; "" for neither."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        return html_to_text(content)
    return content


class _TextMaker(HTMLParser):
    """HTML to plain text: block ends become line breaks, blockquotes `> ` quotes (so that
    the reply stripper sees quoted history as in plain mail), scripts and styles vanish."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "hr"}
    SILENT = {"script", "style", "head", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.depth = 0  # of blockquotes
        self.silent = 0
        self.space = False  # whether the text so far ended in white space

    def _break(self) -> None:
        self.lines.append("")
        self.space = False

    def handle_starttag(self, tag, attrs):
        if tag in self.SILENT:
            self.silent += 1
        elif tag == "blockquote":
            self._break()
            self.depth += 1
        elif tag in self.BLOCKS:
            self._break()

    def handle_endtag(self, tag):
        if tag in self.SILENT:
            self.silent = max(0, self.silent - 1)
        elif tag == "blockquote":
            self.depth = max(0, self.depth - 1)
            self._break()
        elif tag in self.BLOCKS:
            self._break()

    def handle_data(self, data):
        if self.silent or not data:
            return
        words = " ".join(data.split())
        line = self.lines[-1]
        if words and not line:
            line = "> " * self.depth
        elif words and (self.space or data[0].isspace()):
            line += " "
        self.lines[-1] = line + words
        self.space = data[-1].isspace()

    def text(self) -> str:
        kept = [line.rstrip() for line in self.lines]
        joined = "\n".join(kept)
        return re.sub(r"\n{3,}", "\n\n", joined).strip()


def html_to_text(html: str) -> str:
    """The text of an HTML-only mail; no markup survives (the text is then rendered as
    Markdown and sanitized like any other)."""
    maker = _TextMaker()
    maker.feed(html)
    maker.close()
    return maker.text()


def strip_reply(text: str) -> str:
    """The answer alone: without the quoted mail it answers and the signature
    (mail-parser-reply knows Gmail's, Outlook's, Apple Mail's and Thunderbird's shapes)."""
    replies = EmailReplyParser(languages=REPLY_LANGUAGES).read(text=text).replies
    return replies[0].body.strip() if replies else ""


# Deciding


def ignored_reason(org_id: int, mail: Mail) -> str | None:
    """Why the mail is not taken in at all, or None: automatic mail (answering it would
    start a mail loop), our own, and floods."""
    headers = mail.headers
    if headers["Auto-Submitted"] and headers["Auto-Submitted"] != "no":
        return f"Auto-Submitted: {headers['Auto-Submitted']}"
    if headers["Precedence"] in ("bulk", "junk", "list"):
        return f"Precedence: {headers['Precedence']}"
    if headers["Return-Path"] == "<>" or headers["Content-Type"] == "multipart/report":
        return "a bounce (delivery status notification)"
    local = mail.sender.partition("@")[0]
    if local in BOUNCE_SENDERS:
        return f"a bounce (from {mail.sender})"
    if _is_ours(mail.sender):
        return f"sent by this helpdesk ({mail.sender})"
    limit = int(current_app.config["INGEST_FLOOD_LIMIT"])
    if recent_mails(org_id, mail.sender) >= limit:
        window = current_app.config["INGEST_FLOOD_SECONDS"]
        return f"a flood: {limit} mails from {mail.sender} within {window} s"
    return None


def _is_ours(sender: str) -> bool:
    """From SMTP_FROM or SUPPORT_ADDRESS, `+TOKEN` variants included."""
    config = current_app.config
    for configured in (config["SMTP_FROM"], config["SUPPORT_ADDRESS"]):
        ours = normalize_email(parseaddr(str(configured or ""))[1])
        if not ours:
            continue
        local, _, domain = ours.partition("@")
        their_local, _, their_domain = sender.partition("@")
        if their_domain == domain and their_local.partition("+")[0] == local:
            return True
    return False


def recent_mails(org_id: int, sender: str) -> int:
    """How many mails from `sender` were taken in within INGEST_FLOOD_SECONDS: answers on
    their tickets, and tickets they opened by email."""
    since = utcnow() - timedelta(seconds=float(current_app.config["INGEST_FLOOD_SECONDS"]))
    answers = db.session.scalar(
        select(func.count(Message.id))
        .join(Ticket, Message.ticket_id == Ticket.id)
        .join(Customer, Ticket.customer_id == Customer.id)
        .where(
            Message.org_id == org_id,
            Message.email_message_id.is_not(None),
            Message.role == MessageRole.CUSTOMER,
            Message.created_at >= since,
            Customer.email == sender,
        )
    )
    opened = db.session.scalar(
        select(func.count(Ticket.id))
        .join(Customer, Ticket.customer_id == Customer.id)
        .where(
            Ticket.org_id == org_id,
            Ticket.email_message_id.is_not(None),
            Ticket.created_at >= since,
            Customer.email == sender,
        )
    )
    return answers + opened


def _id_forms(message_id: str) -> list[str]:
    """A Message-ID with and without its angle brackets: how another writer stored it."""
    bare = message_id.strip("<>")
    return [f"<{bare}>", bare]


def already_stored(org_id: int, message_id: str) -> bool:
    """Whether a mail with this Message-ID is on a ticket already, as an answer or as the
    mail that opened it."""
    forms = _id_forms(message_id)
    on_message = select(Message.id).where(Message.org_id == org_id, Message.email_message_id.in_(forms))
    on_ticket = select(Ticket.id).where(Ticket.org_id == org_id, Ticket.email_message_id.in_(forms))
    return db.session.scalar(on_message.limit(1)) is not None or (
        db.session.scalar(on_ticket.limit(1)) is not None
    )


def _ticket_by_public_id(org_id: int, public_id: str) -> Ticket | None:
    return db.session.scalar(
        select(Ticket).where(Ticket.org_id == org_id, Ticket.public_id == public_id.lower())
    )


def _ticket_by_header_id(org_id: int, message_id: str) -> Ticket | None:
    """The ticket a Message-ID belongs to: our thread root, one of our replies, or a mail
    stored on the ticket (the one that opened it, or an earlier answer)."""
    if root := THREAD_ROOT.match(message_id):
        return _ticket_by_public_id(org_id, root.group(1))
    ours = OUR_MESSAGE.match(message_id)
    forms = _id_forms(message_id)
    on_message = Message.public_id == ours.group(1).lower() if ours else Message.email_message_id.in_(forms)
    ticket = db.session.scalar(
        select(Ticket)
        .join(Message, Message.ticket_id == Ticket.id)
        .where(Message.org_id == org_id, on_message)
        .limit(1)
    )
    return ticket or db.session.scalar(
        select(Ticket).where(Ticket.org_id == org_id, Ticket.email_message_id.in_(forms))
    )


def _ticket_by_subject(org: Organization, mail: Mail) -> Ticket | None:
    """The ticket a `[PREFIX-N]` in the subject names, only when the mail is from that
    ticket's customer: a reference is easy to guess, an address token is not."""
    prefixes = "|".join(re.escape(prefix) for prefix in tickets.prefixes_of(org))
    found = re.search(rf"\[({prefixes})-(\d{{1,12}})\]", mail.subject, re.IGNORECASE)
    if not found:
        return None
    ticket = tickets.find_ticket(org, f"{found.group(1)}-{found.group(2)}")
    if ticket is None or normalize_email(ticket.customer.email) != mail.sender:
        return None
    return ticket


def find_thread(org: Organization, mail: Mail) -> Ticket | None:
    """The ticket this mail answers: by its In-Reply-To/References, then by the `+TOKEN`
    of our Reply-To among its recipients, then by the subject's reference."""
    for message_id in mail.thread_ids:
        if ticket := _ticket_by_header_id(org.id, message_id):
            return ticket
    for recipient in mail.recipients:
        if (token := ADDRESS_TOKEN.search(recipient)) and (
            ticket := _ticket_by_public_id(org.id, token.group(1))
        ):
            return ticket
    return _ticket_by_subject(org, mail)


# Writing


def _actor(mail: Mail) -> audit.Actor:
    return audit.Actor(label=f"Email from {mail.sender}")


def add_answer(ticket: Ticket, mail: Mail, body: Rendered) -> Outcome:
    """Append the answer to its ticket and reopen a waiting or finished one, in one write
    transaction (the duplicate check again inside it, where no other writer interleaves)."""
    ticket_id, org_id = ticket.id, ticket.org_id
    with write_transaction():
        if already_stored(org_id, mail.message_id):
            return Outcome("duplicate", f"{mail.message_id} is stored already")
        ticket = db.session.get(Ticket, ticket_id)
        actor = _actor(mail)
        tickets.add_message(
            ticket, MessageRole.CUSTOMER, body, actor, email_message_id=mail.message_id, original=mail.text
        )
        if ticket.status in REOPENED:
            tickets.change_status(ticket, Status.OPEN, actor)
        reference = ticket.reference
    return Outcome("added", f"answer from {mail.sender} added to {reference}", reference)


def open_from(org: Organization, mail: Mail) -> Outcome:
    """Open a ticket through the creation service; its Message-ID is the idempotency key
    (concurrent deliveries open one) and is kept on the ticket (later ones are found by
    `already_stored` once the key has expired)."""
    description = mail.answer[: tickets.MAX_DESCRIPTION] or "(no text)"
    new = tickets.NewTicket(
        channel=Channel.EMAIL,
        customer=CustomerRef(email=mail.sender, name=mail.sender_name, create=True),
        subject=mail.subject or "(no subject)",
        description=description,
        email_message_id=mail.message_id,
    )
    once = tickets.Once(endpoint="email", key=mail.message_id, payload={"messageId": mail.message_id})
    answer = tickets.open_once(
        org.id, new, _actor(mail), lambda ticket: (201, {"ticket": ticket.reference}), once
    )
    reference = answer.body["ticket"]
    if answer.replayed:
        return Outcome("duplicate", f"{mail.message_id} opened {reference} already", reference)
    return Outcome("opened", f"{reference} opened for {mail.sender}", reference)


def record_failure(org_id: int, reason: str, raw: bytes, mail: Mail | None = None) -> Outcome:
    """Keep a mail that could not be taken in, with the reason, for the admin page."""
    log.warning("mail not taken in: %s", reason)
    with write_transaction():
        db.session.add(
            IngestFailure(
                org_id=org_id,
                reason=reason,
                sender=mail.sender if mail else _raw_header(raw, "From", 320),
                subject=mail.subject if mail else _raw_header(raw, "Subject", MAX_SUBJECT),
                email_message_id=mail.message_id if mail else None,
                raw=_clean(raw[:RAW_KEPT].decode("utf-8", errors="replace")),
            )
        )
    return Outcome("failed", reason)


def _raw_header(raw: bytes, name: str, length: int) -> str | None:
    """A header's value read leniently from mail that did not parse, for the admin page."""
    head = raw[:RAW_KEPT].decode("utf-8", errors="replace")
    found = re.search(rf"^{name}:[ \t]*(.*)$", head, re.IGNORECASE | re.MULTILINE)
    if found is None:
        return None
    return _clean(found.group(1).strip())[:length] or None


def take_in(org: Organization, mail: Mail) -> Outcome:
    """Decide what the parsed mail is and store it."""
    if reason := ignored_reason(org.id, mail):
        log.info("mail %s ignored: %s", mail.message_id, reason)
        return Outcome("ignored", reason)
    if already_stored(org.id, mail.message_id):
        return Outcome("duplicate", f"{mail.message_id} is stored already")
    ticket = find_thread(org, mail)
    if ticket is None:
        return open_from(org, mail)
    return add_answer(ticket, mail, rendered(mail.answer[: tickets.MAX_DESCRIPTION] or "(no text)"))


def ingest(org: Organization, raw: bytes) -> Outcome:
    """Take one RFC 822 message in for the organization; never raises for bad mail."""
    org_id = org.id
    limit = int(current_app.config["INGEST_MAX_BYTES"])
    if len(raw) > limit:
        return record_failure(org_id, f"size: {len(raw)} bytes, more than the {limit} allowed", raw)
    try:
        mail = parse(raw)
    except BadMail as error:
        return record_failure(org_id, str(error), raw)
    try:
        outcome = take_in(org, mail)
    except IntegrityError:
        # Another delivery of the same mail committed first.
        db.session.rollback()
        if not already_stored(org_id, mail.message_id):
            raise
        outcome = Outcome("duplicate", f"{mail.message_id} is stored already")
    except tickets.QuotaReached as error:
        db.session.rollback()
        return record_failure(org_id, str(error), raw, mail)
    except InvalidValue as error:
        db.session.rollback()
        return record_failure(org_id, f"{error.field}: {error.message}", raw, mail)
    except SQLAlchemyError:
        # The database is away: nothing is stored, and the caller may try again later.
        db.session.rollback()
        raise
    except Exception as error:
        # A bug with one mail must not lose it: it is kept, with the error, for an admin.
        log.exception("mail %s could not be stored", mail.message_id)
        db.session.rollback()
        return record_failure(org_id, f"not stored: {error.__class__.__name__}: {error}", raw, mail)
    log.info("mail %s from %s: %s", mail.message_id, mail.sender, outcome)
    return outcome
