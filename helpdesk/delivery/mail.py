"""Email to agents and replies to customers: composed from templates/email/, sent over SMTP.

Every email about a ticket threads under one root, `<ticket-{public_id}@{domain}>`. A
reply to the customer has the Message-ID its message stored, chains the thread's earlier
emailed messages in `References`, and answers to the support address with the ticket's
token (`support+{public_id}@…`), so the answer finds its ticket (helpdesk/ingest.py).
"""

import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from flask import current_app, render_template
from sqlalchemy import select

from ..extensions import db
from ..models import Agent, Message, MessageRole, Ticket
from ..notify import mail_domain, ticket_link
from .errors import DeliveryError, PermanentError

SUBJECTS = {
    "assigned": "[{reference}] Assigned to you: {subject}",
    "reply": "[{reference}] Customer replied: {subject}",
    "customer_reply": "[{reference}] {subject}",
}
# At most this many earlier Message-IDs in References (RFC 5322 lets it grow unbounded).
REFERENCES_KEPT = 20


def _one_line(text: str) -> str:
    # API clients choose subjects; a line break in a header would be a header injection.
    return " ".join(text.split())


def thread_root(ticket: Ticket) -> str:
    """The Message-ID every email about the ticket threads under."""
    return f"<ticket-{ticket.public_id}@{mail_domain()}>"


def reply_address(ticket: Ticket) -> str:
    """The support address with the ticket's token: `support+{public_id}@example.com`."""
    config = current_app.config
    address = parseaddr(config["SUPPORT_ADDRESS"] or config["SMTP_FROM"])[1]
    local, at, domain = address.rpartition("@")
    return f"{local}+{ticket.public_id}@{domain}" if at else address


def compose(outbox_id: int, org_id: int, payload: dict, message_id: int | None = None) -> EmailMessage:
    """The email an outbox row stands for; the Message-ID is the same on every retry."""
    template = payload.get("template")
    if template not in SUBJECTS:
        raise PermanentError(f"unknown email template {template!r}")
    ticket = db.session.get(Ticket, payload.get("ticket_id"))
    if ticket is None or ticket.org_id != org_id:
        raise PermanentError("the ticket no longer exists")
    if template == "customer_reply":
        return _to_customer(ticket, payload["to"], message_id)
    agent = db.session.get(Agent, payload.get("agent_id"))
    latest = None
    if template == "reply":
        latest = db.session.scalar(
            select(Message)
            .where(
                Message.ticket_id == ticket.id,
                Message.role == MessageRole.CUSTOMER,
                Message.internal.is_(False),
            )
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(1)
        )
    context = {"ticket": ticket, "agent": agent, "link": ticket_link(ticket), "message": latest}
    email = _headed(ticket, template, payload["to"], f"<outbox-{outbox_id}@{mail_domain()}>")
    email["Date"] = format_datetime(ticket.updated_at)
    thread = thread_root(ticket)
    email["References"] = thread
    email["In-Reply-To"] = thread
    return _with_parts(email, template, context)


def _headed(ticket: Ticket, template: str, to: str, message_id: str) -> EmailMessage:
    email = EmailMessage()
    subject = SUBJECTS[template].format(reference=ticket.reference, subject=ticket.subject)
    email["Subject"] = _one_line(subject)
    email["From"] = current_app.config["SMTP_FROM"]
    email["To"] = to
    email["Message-ID"] = message_id
    email["X-Helpdesk-Ticket"] = ticket.reference
    return email


def _with_parts(email: EmailMessage, template: str, context: dict) -> EmailMessage:
    email.set_content(render_template(f"email/{template}.txt", **context))
    email.add_alternative(render_template(f"email/{template}.html", **context), subtype="html")
    return email


def _to_customer(ticket: Ticket, to: str, message_id: int | None) -> EmailMessage:
    """An agent's reply, threaded after the conversation's earlier emailed messages."""
    message = db.session.get(Message, message_id)
    if message is None or message.ticket_id != ticket.id or not message.email_message_id:
        raise PermanentError("the reply no longer exists")
    earlier = db.session.scalars(
        select(Message.email_message_id)
        .where(
            Message.ticket_id == ticket.id,
            Message.email_message_id.is_not(None),
            Message.internal.is_(False),
            Message.id < message.id,
        )
        .order_by(Message.id.desc())
        .limit(REFERENCES_KEPT)
    ).all()
    email = _headed(ticket, "customer_reply", to, message.email_message_id)
    organization = ticket.org.name
    sender = parseaddr(current_app.config["SMTP_FROM"])[1]
    email.replace_header("From", str(Address(organization, addr_spec=sender)))
    email["Reply-To"] = str(Address(organization, addr_spec=reply_address(ticket)))
    email["Date"] = format_datetime(message.created_at)
    email["In-Reply-To"] = earlier[0] if earlier else thread_root(ticket)
    email["References"] = " ".join([thread_root(ticket), *reversed(earlier)])
    # No link: the ticket's page is the agents' desk, not the customer's.
    context = {"ticket": ticket, "message": message, "organization": organization}
    return _with_parts(email, "customer_reply", context)


def _refused_for_good(error: smtplib.SMTPException) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def send(email: EmailMessage, config: dict) -> None:
    """Hand the email to the SMTP server; raise DeliveryError or PermanentError on failure."""
    host = config["SMTP_HOST"]
    if not host:
        raise PermanentError("email is not configured: set HELPDESK_SMTP_HOST")
    try:
        with smtplib.SMTP(host, int(config["SMTP_PORT"]), timeout=config["SMTP_TIMEOUT"]) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config["SMTP_USERNAME"]:
                smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"] or "")
            smtp.send_message(email)
    except smtplib.SMTPException as error:
        if _refused_for_good(error):
            raise PermanentError(f"SMTP refused: {error}") from None
        raise DeliveryError(f"SMTP: {error.__class__.__name__}: {error}") from None
    except OSError as error:
        raise DeliveryError(f"SMTP {host}:{config['SMTP_PORT']}: {error}") from None
