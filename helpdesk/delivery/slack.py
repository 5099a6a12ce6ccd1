"""Slack incoming-webhook messages for new tickets."""

import json

# Slack rejects section texts over 3000 characters.
MAX_TEXT = 2900


def _escape(text: str) -> str:
    """Slack's mrkdwn escaping: only &, < and > are special."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compose(payload: dict) -> bytes:
    """The JSON body: title, number, priority, customer, first customer message, link
    (or the admin's test message alone)."""
    if "test" in payload:
        return json.dumps({"text": _escape(payload["test"])}, ensure_ascii=False).encode()
    ticket = payload["ticket"]
    title = f"New ticket {ticket['ticketNumber']}: {ticket['subject']}"
    first = payload.get("first_customer_message") or ""
    fields = [
        {"type": "mrkdwn", "text": f"*Priority*\n{_escape(ticket['priority'])}"},
        {"type": "mrkdwn", "text": f"*Customer*\n{_escape(payload.get('customer') or '—')}"},
    ]
    blocks = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": _clip(f"*<{ticket['url']}|{_escape(ticket['ticketNumber'])}>* "
                              f"{_escape(ticket['subject'])}"),
            },
        },
        {"type": "section", "fields": fields},
    ]
    if first:
        quoted = "\n".join("> " + line for line in _escape(first).splitlines())
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(quoted)}})
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{ticket['url']}|Open in Helpdesk>"}]}
    )
    body = {"text": _clip(_escape(f"{title}\n{first}".strip())), "blocks": blocks}
    return json.dumps(body, ensure_ascii=False).encode()
