"""An organization's settings: name, ticket prefix, monthly quota, Slack URL, classifier
threshold. Each function runs in the caller's write transaction and logs what it changes."""

from . import admin_log
from .accounts import PREFIX, parse_int
from .db import add_row
from .models import Organization, OutboxMessage
from .validation import InvalidValue
from .webhooks import check_url

FIELDS = ("name", "ticket_prefix", "monthly_quota", "slack_webhook_url")


def _name(raw: str) -> str:
    name = raw.strip()
    if not 1 <= len(name) <= 120:
        raise InvalidValue("name", "Name must be 1-120 characters")
    return name


def _prefix(raw: str) -> str:
    prefix = raw.strip().upper()
    if not PREFIX.match(prefix):
        raise InvalidValue(
            "ticket_prefix", "Prefix must be 1-10 upper-case letters or digits, starting with a letter"
        )
    return prefix


def _slack_url(raw: str, allow_private: bool) -> str | None:
    url = raw.strip()
    if not url:
        return None
    if not url.startswith("https://"):
        raise InvalidValue("slack_webhook_url", "Slack webhook URL must start with https://")
    try:
        return check_url(url, allow_private=allow_private)
    except InvalidValue as error:  # the webhooks' SSRF guard names its own field
        raise InvalidValue("slack_webhook_url", error.message) from None


def parse(form: dict, *, allow_private: bool) -> dict:
    """The wanted settings from the form's text, or InvalidValue naming the first bad field."""
    return {
        "name": _name(form.get("name", "")),
        "ticket_prefix": _prefix(form.get("ticket_prefix", "")),
        "monthly_quota": parse_int("monthly_quota", form.get("monthly_quota", ""), allow_empty=True),
        "slack_webhook_url": _slack_url(form.get("slack_webhook_url", ""), allow_private),
    }


def _shown(field: str, value: object) -> object:
    if field == "monthly_quota" and value is None:
        return "unlimited"
    if field == "slack_webhook_url" and value:
        return value.split("/services/")[0] + "/services/…" if "/services/" in value else value
    return value


def _remember_prefix(org: Organization, new: str) -> None:
    """Keep the outgoing prefix, so that its references still find their tickets."""
    former = [p for p in (org.former_prefixes or "").split() if p != new]
    if org.ticket_prefix not in former:
        former.append(org.ticket_prefix)
    org.former_prefixes = " ".join(former)


def update(org: Organization, wanted: dict, changer: admin_log.Changer) -> list[str]:
    """Apply the wanted settings; returns the fields that changed, each logged from → to."""
    changed, target = [], org.name
    if wanted.get("ticket_prefix", org.ticket_prefix) != org.ticket_prefix:
        _remember_prefix(org, wanted["ticket_prefix"])
    for field, value in wanted.items():
        old = getattr(org, field)
        if old != value:
            setattr(org, field, value)
            shown = _shown(field, old), _shown(field, value)
            admin_log.record(org.id, changer, f"org.{field}", target, *shown)
            changed.append(field)
    return changed


def parse_threshold(raw: object) -> float:
    """A confidence threshold between 0 and 1, or InvalidValue on field `threshold`."""
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise InvalidValue("threshold", "Enter a number between 0 and 1") from None
    if not 0 <= value <= 1:  # also refuses nan
        raise InvalidValue("threshold", "Enter a number between 0 and 1")
    return value


def set_threshold(org: Organization, value: float, current: float, changer: admin_log.Changer) -> bool:
    """Set the classifier's confidence threshold; False when it is unchanged."""
    if value == current:
        return False
    org.classifier_threshold = value
    admin_log.record(org.id, changer, "org.classifier_threshold", org.name, current, value)
    return True


def queue_slack_test(org: Organization, changer: admin_log.Changer) -> None:
    """Queue a test message to the organization's Slack URL; the worker delivers it."""
    if not org.slack_webhook_url:
        raise InvalidValue("slack_webhook_url", "Save a Slack webhook URL first")
    text = f"Test message from Helpdesk ({org.name}), sent by {changer.label}."
    add_row(OutboxMessage, org_id=org.id, kind="slack", payload={"url": org.slack_webhook_url, "test": text})
    admin_log.record(org.id, changer, "org.slack_test", org.name, None, "queued")
