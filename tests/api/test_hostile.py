"""Hostile bodies against both create contracts: each is its documented 4xx in the contract's
JSON envelope, never a 5xx, and creates nothing (no ticket, no customer, no number used)."""

import json

import pytest
import requests

from helpdesk.extensions import db
from helpdesk.models import Customer, Organization, Ticket

from .. import factories

V1 = "/api/v1/tickets/api-create"
EXT = "/api/ext-v1/ticket/createTicket"
LIMIT = 256 * 1024  # MAX_CONTENT_LENGTH's default
VALID = {
    V1: {"customerExternalId": "user_42", "subject": "Broken", "description": "It broke."},
    EXT: {"title": "Broken", "customerEmail": "new.person@example.org", "description": "It broke."},
}
TEXT_FIELDS = {V1: ["customerExternalId", "subject", "description"], EXT: ["title", "customerEmail"]}
ENUM_BAD = {
    V1: ["high", "High", "HIGH ", " HIGH", "HІGH", "ＨＩＧＨ", "HI\u200bGH", "H1GH", "", "LOW|HIGH",
         "urgent"],
    EXT: ["HIGH", "High", "high ", "hіgh", "ｈｉｇｈ", "hi\u200bgh", "critical", "", "medium,high", "MEDIUM"],
}
WRONG_TYPES = [None, 0, 1.5, True, [], ["x"], {}, {"a": 1}]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def hostile_bodies(path: str) -> list[tuple[str, bytes, int]]:
    """(name, raw body, expected status) for one contract: well over 60 each."""
    valid = VALID[path]

    def with_(**changes) -> bytes:
        return json.dumps(valid | changes).encode()

    def plus(raw_members: bytes) -> bytes:
        """The valid body with raw JSON members appended (what json.dumps cannot write)."""
        return json.dumps(valid).encode()[:-1] + b", " + raw_members + b"}"

    bodies = [
        ("empty", b"", 400),
        ("whitespace", b"  \n\t ", 400),
        ("open brace", b"{", 400),
        ("close brace", b"}", 400),
        ("single quotes", b"{'title': 'x'}", 400),
        ("trailing comma", json.dumps(valid).encode()[:-1] + b",}", 400),
        ("unquoted key", b"{title: 1}", 400),
        ("comment", b'{"title": "x" /* hi */}', 400),
        ("array", b"[]", 400),
        ("array of object", b"[" + json.dumps(valid).encode() + b"]", 400),
        ("string", b'"text"', 400),
        ("null", b"null", 400),
        ("true", b"true", 400),
        ("number", b"0", 400),
        ("huge exponent", b"1e999", 400),
        ("bare NaN", b"NaN", 400),
        ("NaN value", plus(b'"x": NaN'), 400),
        ("Infinity value", plus(b'"x": Infinity'), 400),
        ("-Infinity value", plus(b'"x": -Infinity'), 400),
        ("invalid utf-8", b'{"title": "\xff\xfe"}', 400),
        ("NUL byte body", b"\x00", 400),
        ("raw NUL in JSON string", b'{"title": "a\x00b"}', 400),
        ("10,000 nested arrays", nested(10000).encode(), 400),
        ("10,000 nested objects", ('{"a":' * 10000 + "1" + "}" * 10000).encode(), 400),
        ("10,000 nested in a field", plus(b'"deep": ' + nested(10000).encode()), 400),
        ("5000-digit integer", plus(b'"n": ' + b"9" * 5000), 400),
        ("duplicate keys", b'{"a": 1, "a": 2}', 400),
        ("duplicate required key", plus(json.dumps(valid).encode()[1:-1]), 400),
        ("duplicate nested key", plus(b'"metadata": {"k": 1, "k": 2}'), 400),
        ("body over the limit", json.dumps(valid | {"description": "x" * LIMIT}).encode(), 413),
        ("padding over the limit", json.dumps(valid).encode() + b" " * LIMIT, 413),
        ("empty object", b"{}", 400),
    ]  # fmt: skip
    for field in TEXT_FIELDS[path]:
        for wrong in WRONG_TYPES:
            bodies.append((f"{field} = {json.dumps(wrong)}", with_(**{field: wrong}), 400))
        bodies += [
            (f"{field} NUL", with_(**{field: "a\u0000b"}), 400),
            (f"{field} lone surrogate", with_(**{field: "a\ud800b"}), 400),
            (f"{field} low surrogate", with_(**{field: "\udc00"}), 400),
            (f"{field} 100,000 chars", with_(**{field: "x" * 100_000}), 400),
            (f"{field} missing", json.dumps({k: v for k, v in valid.items() if k != field}).encode(), 400),
        ]
    for bad in ENUM_BAD[path]:
        bodies.append((f"priority {bad!r}", with_(priority=bad), 400))
    for wrong in (None, 3, ["HIGH"], {"v": "HIGH"}):
        bodies.append((f"priority = {json.dumps(wrong)}", with_(priority=wrong), 400))
    if path == V1:
        bodies += [
            ("metadata string", with_(metadata="x"), 400),
            ("metadata array", with_(metadata=[1]), 400),
            ("metadata 9 deep", with_(metadata=json.loads('{"a":' * 9 + "{}" + "}" * 9)), 400),
            ("metadata too big", with_(metadata={"k": "x" * 20000}), 400),
            ("metadata NUL key", with_(metadata={"a\u0000": 1}), 400),
            ("metadata surrogate value", with_(metadata={"a": "\ud83d"}), 400),
            ("tagIds null member", with_(tagIds=[None]), 400),
            ("tagIds injection", with_(tagIds=["'; DROP TABLE tickets; --"]), 400),
            ("tagIds object", with_(tagIds={"0": "x"}), 400),
            ("tagIds unknown", with_(tagIds=["00000000-0000-0000-0000-000000000000"]), 400),
            ("category NUL", with_(category="a\u0000"), 400),
            ("category too long", with_(category="c" * 101), 400),
            ("unknown customer", with_(customerExternalId="nobody"), 404),
        ]
    else:
        bodies += [
            ("no customer", json.dumps({"title": "x"}).encode(), 400),
            ("email without at", with_(customerEmail="person.example.org"), 400),
            ("email with spaces", with_(customerEmail="a b@example.org"), 400),
            ("customerId NUL", with_(customerId="c\u0000"), 400),
            ("customerId unknown", with_(customerId="cust_nobody"), 404),
            ("description NUL", with_(description="\u0000"), 400),
            ("description number", with_(description=42), 400),
            ("messages object", with_(messages={"role": "bot"}), 400),
            ("messages strings", with_(messages=["hi"]), 400),
            ("messages role case", with_(messages=[{"role": "Customer", "content": "x"}]), 400),
            ("messages content null", with_(messages=[{"role": "bot", "content": None}]), 400),
            ("messages surrogate", with_(messages=[{"role": "bot", "content": "\udfff"}]), 400),
            ("101 messages", with_(messages=[{"role": "bot", "content": "x"}] * 101), 400),
            ("category object", with_(category={"name": "x"}), 400),
        ]
    return bodies


CASES = [(path, *case) for path in (V1, EXT) for case in hostile_bodies(path)]


def test_there_are_at_least_60_hostile_bodies_per_contract():
    assert len(hostile_bodies(V1)) >= 60 and len(hostile_bodies(EXT)) >= 60


def nothing_created(org_id: int, customers: int) -> None:
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0
    assert db.session.scalar(db.select(db.func.count(Customer.id))) == customers
    assert db.session.scalar(db.select(Organization.ticket_seq).where(Organization.id == org_id)) == 0


def assert_envelope(path: str, status: int, body: dict) -> None:
    assert body["success"] is False
    if path == EXT:
        assert set(body) == {"success", "message"} and body["message"]
    else:
        assert set(body) == {"success", "error", "timestamp"}
        codes = {400: "VALIDATION_ERROR", 404: "CUSTOMER_NOT_FOUND", 413: "PAYLOAD_TOO_LARGE"}
        assert body["error"]["code"] == codes[status]


@pytest.mark.parametrize("path", [V1, EXT])
def test_hostile_bodies(client, headers, org, customer, path):
    # One test per contract (not one per body): a fresh database per body costs minutes on
    # PostgreSQL. Every body is still checked, and every miss is reported by name.
    misses = []
    for name, raw, status in hostile_bodies(path):
        response = client.post(path, data=raw, headers=headers | {"Content-Type": "application/json"})
        try:
            assert response.status_code == status, response.get_data(as_text=True)[:200]
            assert response.mimetype == "application/json"
            assert_envelope(path, status, response.get_json())
        except AssertionError as error:
            misses.append(f"{name}: {error}")
    assert misses == []
    nothing_created(org.id, customers=1)


@pytest.mark.slow
def test_hostile_bodies_through_gunicorn(live_server, org):
    factories.make_customer(org, external_id="user_42")
    headers = {"X-API-Key": factories.make_api_key(org)[1], "Content-Type": "application/json"}
    with requests.Session() as session:
        for path, name, raw, status in CASES:
            response = session.post(live_server.url + path, data=raw, headers=headers, timeout=30)
            assert response.status_code == status, (name, response.text[:300])
            assert_envelope(path, status, response.json())

        # Chunked, without Content-Length: the limit still holds while reading.
        def chunks():
            yield b'{"title": "'
            for _ in range(LIMIT // 8192 + 2):
                yield b"x" * 8192
            yield b'"}'

        for path in (V1, EXT):
            response = session.post(live_server.url + path, data=chunks(), headers=headers, timeout=30)
            assert response.status_code == 413, response.text[:300]
            assert_envelope(path, 413, response.json())
    nothing_created(org.id, customers=1)
