"""Email to agents: composed from templates/email/, sent over SMTP."""

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import urlsplit

from flask import current_app, render_template
from sqlalchemy import select

from ..extensions import db
from ..models import Agent, Message, MessageRole, Ticket
from ..notify import ticket_link
from .errors import DeliveryError, PermanentError

SUBJECTS = {
    "assigned": "[{reference}] Assigned to you: {subject}",
    "reply": "[{reference}] Customer replied: {subject}",
}


def _domain() -> str:
    return urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"


def _one_line(text: str) -> str:
    # API clients choose subjects; a line break in a header would be a header injection.
    return " ".join(text.split())


def compose(outbox_id: int, org_id: int, payload: dict) -> EmailMessage:
    """The email an outbox row stands for; the Message-ID is the same on every retry."""
    template = payload.get("template")
    if template not in SUBJECTS:
        raise PermanentError(f"unknown email template {template!r}")
    ticket = db.session.get(Ticket, payload.get("ticket_id"))
    if ticket is None or ticket.org_id != org_id:
        raise PermanentError("the ticket no longer exists")
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
    domain = _domain()
    email = EmailMessage()
    subject = SUBJECTS[template].format(reference=ticket.reference, subject=ticket.subject)
    email["Subject"] = _one_line(subject)
    email["From"] = current_app.config["SMTP_FROM"]
    email["To"] = payload["to"]
    email["Date"] = format_datetime(ticket.updated_at)
    email["Message-ID"] = f"<outbox-{outbox_id}@{domain}>"
    # Every email about one ticket threads under the same reference in mail clients.
    thread = f"<ticket-{ticket.public_id}@{domain}>"
    email["References"] = thread
    email["In-Reply-To"] = thread
    email["X-Helpdesk-Ticket"] = ticket.reference
    email.set_content(render_template(f"email/{template}.txt", **context))
    email.add_alternative(render_template(f"email/{template}.html", **context), subtype="html")
    return email


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
