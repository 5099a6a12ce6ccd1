"""`/search`: full text over tickets, their conversation and their customer, one organization only."""

import pytest
from sqlalchemy import text, update

from helpdesk import audit, search, tickets
from helpdesk.customers import CustomerRef
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.markdown import rendered
from helpdesk.models import Customer, Message, MessageRole, Status, Ticket
from helpdesk.tickets import NewMessage

from .. import factories
from .conftest import HX, by_id, parse
from .test_queries import counted


def refs(response) -> list[str]:
    """The ticket references listed in the results, in order."""
    assert response.status_code == 200, response.text
    root = parse(response.text)
    rows = by_id(root, "search-results").find_all(lambda node: node.tag == "tr" and node.has("data-ticket"))
    return [row.get("data-ticket") for row in rows]


def say(ticket, body: str, role=MessageRole.CUSTOMER, internal=False):
    with write_transaction():
        tickets.add_message(db.session.merge(ticket), role, rendered(body), audit.SYSTEM, internal=internal)


@pytest.fixture
def nina(org):
    return factories.make_agent(org, name="Nina")


@pytest.fixture
def nina_client(app, nina):
    return app.test_client(user=nina)


def test_finds_by_description_message_note_and_customer(nina_client, org):
    by_description = factories.make_ticket(org, subject="One", description="The flux capacitor hums")
    by_message = factories.make_ticket(org, subject="Two")
    say(by_message, "My zeppelin arrived dented")
    by_note = factories.make_ticket(org, subject="Three")
    say(by_note, "Customer sounds like a *walrus*", MessageRole.AGENT, internal=True)
    named = factories.make_customer(
        org, name="Ottoline Quibble", email="oq@example.org", external_id="acct-991"
    )
    by_customer = factories.make_ticket(org, named, subject="Four")

    assert refs(nina_client.get("/search?q=capacitor")) == [by_description.reference]
    assert refs(nina_client.get("/search?q=zeppelin")) == [by_message.reference]
    assert refs(nina_client.get("/search?q=walrus")) == [by_note.reference]
    assert refs(nina_client.get("/search?q=quibble")) == [by_customer.reference]
    assert refs(nina_client.get("/search?q=oq@example.org")) == [by_customer.reference]
    assert refs(nina_client.get("/search?q=acct-991")) == [by_customer.reference]
    # Every word must match; stemming finds other forms of a word.
    assert refs(nina_client.get("/search?q=flux+hum")) == [by_description.reference]
    assert refs(nina_client.get("/search?q=flux+zeppelin")) == []


def test_across_statuses_with_filters(nina_client, org):
    found = {}
    for status in Status:
        ticket = factories.make_ticket(org, subject=f"Gizmo {status}", priority="HIGH")
        with write_transaction():
            db.session.merge(ticket).status = status
        found[status] = ticket.reference
    assert sorted(refs(nina_client.get("/search?q=gizmo"))) == sorted(found.values())
    assert refs(nina_client.get("/search?q=gizmo&status=CLOSED")) == [found[Status.CLOSED]]
    assert refs(nina_client.get("/search?q=gizmo&status=in_progress")) == [found[Status.IN_PROGRESS]]
    assert refs(nina_client.get("/search?q=gizmo&priority=LOW")) == []
    assert len(refs(nina_client.get("/search?q=gizmo&priority=HIGH"))) == len(Status)


def test_ranked_by_relevance_then_recency(nina_client, org):
    in_body = factories.make_ticket(org, subject="Question", description="about the sprocket")
    in_subject = factories.make_ticket(org, subject="Sprocket broken", description="see title")
    older = factories.make_ticket(org, subject="Other", description="about the sprocket")
    with write_transaction():
        db.session.execute(
            update(Ticket)
            .where(Ticket.id == older.id)
            .values(updated_at=in_body.updated_at.replace(year=2020))
        )
    assert refs(nina_client.get("/search?q=sprocket")) == [
        in_subject.reference,
        in_body.reference,
        older.reference,
    ]


def test_snippet_marks_the_words_and_escapes_everything_else(nina_client, org):
    ticket = factories.make_ticket(org, subject="Plain", description="x")
    say(ticket, 'The <script>alert(1)</script> banana <b>split</b> & "quotes"')
    response = nina_client.get("/search?q=banana")
    assert refs(response) == [ticket.reference]
    snippet = response.text.split('class="snippet">', 1)[1].split("</p>", 1)[0]
    assert "<mark>banana</mark>" in snippet
    assert "<script>" not in snippet and "<b>" not in snippet
    if db.engine.dialect.name == "sqlite":  # PostgreSQL's ts_headline drops tags instead
        assert "&lt;script&gt;" in snippet
    assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0


def test_highlight_only_ever_makes_balanced_marks():
    assert search.highlight("a \x02b\x03 <i>") == "a <mark>b</mark> &lt;i&gt;"
    assert search.highlight("\x03\x03x\x02\x02y") == "x<mark>y</mark>"
    assert len(search.highlight("w" * 5000)) <= search.SNIPPET_CHARS + 1
    joined = search.highlight("\x02DECLINED\x03_\x0205\x03 and \x02e\x03-\x02mail\x03")
    assert joined == "<mark>DECLINED_05</mark> and <mark>e-mail</mark>"
    assert search.highlight("\x02card\x03 \x02declined\x03") == "<mark>card</mark> <mark>declined</mark>"


def test_never_across_organizations(app, nina_client, org):
    other = factories.make_org(name="Elsewhere", slug="elsewhere", prefix="ELS")
    theirs = factories.make_ticket(other, subject="Platypus", description="platypus platypus")
    say(theirs, "platypus again")
    named = factories.make_customer(other, name="Platypus Person")
    factories.make_ticket(other, named, subject="Hello")
    mine = factories.make_ticket(org, subject="Ordinary")

    for url in ("/search?q=platypus", "/search?q=platypus+person", "/search?q=platypus&status=OPEN"):
        response = nina_client.get(url)
        assert refs(response) == []
        results = by_id(parse(response.text), "search-results").all_text()
        assert "No ticket matches" in results and "ELS-" not in response.text and "Person" not in results
    jump = nina_client.get(f"/search?q=ELS-{theirs.number}")
    assert jump.status_code == 200 and refs(jump) == []
    their_agent = app.test_client(user=factories.make_agent(other))
    assert len(refs(their_agent.get("/search?q=platypus"))) == 2
    assert refs(their_agent.get("/search?q=ordinary")) == []
    assert refs(nina_client.get("/search?q=ordinary")) == [mine.reference]


def test_the_organization_filter_is_what_keeps_them_apart(nina_client, org, monkeypatch):
    """Break the filter on purpose: the other organization's ticket shows, so the tests see it."""
    other = factories.make_org(name="Elsewhere", slug="elsewhere", prefix="ELS")
    factories.make_ticket(other, subject="Platypus")
    assert refs(nina_client.get("/search?q=platypus")) == []
    monkeypatch.setattr(search, "_PAGE", search._PAGE.replace("WHERE t.org_id = :org_id", "WHERE 1 = 1"))
    if db.engine.dialect.name == "sqlite":
        facets = search._facets
        monkeypatch.setattr(search, "_facets", lambda *args: facets(*args)[1:])
    else:
        monkeypatch.setattr(
            search, "_POSTGRESQL_HITS", search._POSTGRESQL_HITS.replace("s.org_id = :org_id", "true")
        )
    broken = nina_client.get("/search?q=platypus")
    assert len(refs(broken)) == 1 and "Platypus" in by_id(parse(broken.text), "search-results").all_text()


HOSTILE = [
    '"', '""', "'", "*", "**", "a*", "NEAR(a b)", "NEAR(", "OR", "a OR b", "AND", "NOT", "-x",
    "(", ")", "a:b", "subject:x", "{subject}: x", "^x", "\\", "\\\\", "'; DROP TABLE tickets; --",
    "1 UNION SELECT password_hash FROM agents", "%", "_", "\x00", "a\x00b", "\u202e", "🙂", "ǅ",
    "<script>alert(1)</script>", "x" * 200, "a " * 100, "-", "#", "#-1", "T-", "T-99999999999999",
    "99999999999999999999", "e\u0301", "\ufffd", "a&b|c!d", "a:*", "'a':1", "!!", "<->", "a <-> b",
]  # fmt: skip


@pytest.mark.parametrize("query", HOSTILE)
@pytest.mark.parametrize("partial", [False, True])
def test_any_query_is_words_never_an_error(nina_client, org, query, partial):
    factories.make_ticket(org, subject="OR NEAR AND words", description="near or and not")
    response = nina_client.get("/search", query_string={"q": query}, headers=HX if partial else {})
    # A NUL is refused anywhere in a request, naming the field (helpdesk/security.py).
    assert response.status_code in ((400,) if "\x00" in query else (200, 303)), (query, response.status_code)
    if "\x00" in query:
        assert "q:" in response.text


def test_operators_are_plain_words(nina_client, org):
    ticket = factories.make_ticket(org, subject="Refund NEAR the OR", description="x")
    factories.make_ticket(org, subject="Refund", description="y")
    assert refs(nina_client.get("/search", query_string={"q": "refund NEAR("})) == [ticket.reference]
    assert refs(nina_client.get("/search", query_string={"q": '"refund" near*'})) == [ticket.reference]


@pytest.mark.parametrize(
    "query, field",
    [("status=DONE", "status"), ("priority=HUGE", "priority"), ("page=0", "page"), ("page=x", "page"),
     ("page=99999", "page"), ("q=" + "x" * 201, "q")],
)  # fmt: skip
def test_bad_parameters_are_422_naming_them(nina_client, query, field):
    response = nina_client.get(f"/search?{query}")
    assert response.status_code == 422 and f"{field}:" in response.text


def test_a_ticket_number_opens_the_ticket(nina_client, org):
    ticket = factories.make_ticket(org, subject="Numbered")
    for query in (str(ticket.number), ticket.reference, f"#{ticket.number}", ticket.reference.lower()):
        response = nina_client.get("/search", query_string={"q": query})
        assert response.status_code == 303 and response.location.endswith(f"/tickets/{ticket.reference}")
    # Typing (an htmx request) lists results instead of leaving the page.
    assert nina_client.get(f"/search?q={ticket.number}", headers=HX).status_code == 200
    assert nina_client.get("/search?q=424242").status_code == 200


def test_full_page_and_fragment(nina_client, org):
    factories.make_ticket(org, subject="Kumquat")
    page = nina_client.get("/search?q=kumquat")
    assert page.status_code == 200 and "<header" in page.text and 'id="search-form"' in page.text
    fragment = nina_client.get("/search?q=kumquat", headers=HX)
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith('<section id="search-results"')
    assert "HX-Request" in fragment.headers["Vary"]
    assert nina_client.get("/search").status_code == 200


def test_the_queue_search_box_and_the_header_lead_here(nina_client):
    root = parse(nina_client.get("/?queue=open").text)
    (form,) = root.find_all(lambda node: node.get("id") == "queue-search")
    assert form.get("action") == "/search"
    assert root.find_all(lambda node: node.tag == "a" and node.get("href") == "/search")


def test_the_index_follows_edits_messages_moves_and_customers(nina_client, org):
    ticket = factories.make_ticket(org, subject="Aardvark", description="first words")
    assert refs(nina_client.get("/search?q=aardvark")) == [ticket.reference]
    with write_transaction():
        db.session.merge(ticket).subject = "Pangolin"
    assert refs(nina_client.get("/search?q=aardvark")) == []
    assert refs(nina_client.get("/search?q=pangolin")) == [ticket.reference]

    say(ticket, "a quokka appeared")
    assert refs(nina_client.get("/search?q=quokka")) == [ticket.reference]

    # Merging moves the conversation to the surviving ticket.
    survivor = factories.make_ticket(org, subject="Survivor")
    with write_transaction():
        db.session.execute(
            update(Message).where(Message.ticket_id == ticket.id).values(ticket_id=survivor.id)
        )
    assert refs(nina_client.get("/search?q=quokka")) == [survivor.reference]

    with write_transaction():
        db.session.execute(
            update(Customer).where(Customer.id == db.session.merge(survivor).customer_id).values(name="Zorro")
        )
    assert refs(nina_client.get("/search?q=zorro")) == [survivor.reference]

    with write_transaction():
        db.session.execute(text("DELETE FROM tickets WHERE id = :id"), {"id": survivor.id})
    assert refs(nina_client.get("/search?q=quokka")) == []


def test_a_new_ticket_with_messages_is_found_at_once(nina_client, org):
    customer = factories.make_customer(org)
    with write_transaction():
        opened = tickets.create_ticket(
            db.session.merge(org),
            tickets.NewTicket(
                subject="Fresh", customer=CustomerRef(public_id=customer.public_id),
                messages=[NewMessage(MessageRole.CUSTOMER, "my gramophone skips")],
            ),
            audit.SYSTEM,
        )  # fmt: skip
    assert refs(nina_client.get("/search?q=gramophone")) == [opened.reference]


def test_pages_and_the_capped_count(nina_client, org, monkeypatch):
    made = [factories.make_ticket(org, subject=f"Widget {n}") for n in range(7)]
    monkeypatch.setattr(search, "PAGE_SIZE", 3)
    first = nina_client.get("/search?q=widget")
    assert len(refs(first)) == 3 and "7 tickets match" in first.text and "Page 1 of 3" in first.text
    assert len(refs(nina_client.get("/search?q=widget&page=3"))) == 1
    past = nina_client.get("/search?q=widget&page=9")
    assert refs(past) == [] and "No more results: there are 7" in past.text and 'rel="prev"' in past.text
    seen = {ref for page in (1, 2, 3) for ref in refs(nina_client.get(f"/search?q=widget&page={page}"))}
    assert seen == {ticket.reference for ticket in made}
    monkeypatch.setattr(search, "CANDIDATES", 5)
    capped = nina_client.get("/search?q=widget")
    assert "More than 5 tickets match" in capped.text
    # The best among the newest five: ticket 0 and 1 are left out.
    seen = {ref for page in (1, 2) for ref in refs(nina_client.get(f"/search?q=widget&page={page}"))}
    assert seen == {ticket.reference for ticket in made[2:]}


@pytest.mark.parametrize("partial", [False, True])
def test_queries_per_page_do_not_grow_with_rows(nina_client, org, partial):
    headers = HX if partial else {}

    def add(count):
        for n in range(count):
            ticket = factories.make_ticket(org, subject=f"Teapot {n}", description="teapot")
            say(ticket, "teapot news")
            with write_transaction():
                saved = db.session.merge(ticket)
                tickets.set_tags(saved, tickets.tags_named(saved.org_id, ["china", f"t{n}"]), audit.SYSTEM)

    def statements() -> int:
        with counted() as executed:
            assert nina_client.get("/search?q=teapot", headers=headers).status_code == 200
        return len(executed)

    add(2)
    few = statements()
    add(10)
    assert statements() == few
    # begin, the agent; the page (with its count); snippets; tags; the header's two (page only).
    assert few <= (5 if partial else 7)


def test_customer_page_shows_who_and_their_tickets(nina_client, org):
    customer = factories.make_customer(org, name="Winifred Ash", email="win@example.org", external_id="w-1")
    old = factories.make_ticket(org, customer, subject="Old problem", metadata={"plan": "basic"})
    with write_transaction():
        db.session.merge(old).status = Status.CLOSED
    new = factories.make_ticket(org, customer, subject="New problem", metadata={"plan": "pro", "seats": 3})
    factories.make_ticket(org, subject="Someone else's")
    response = nina_client.get(f"/customers/{customer.public_id}")
    assert response.status_code == 200
    root = parse(response.text)
    page = by_id(root, "customer").all_text()
    for shown in ("Winifred Ash", "win@example.org", "w-1", "pro", "seats", "Open tickets", "Past tickets"):
        assert shown in page
    assert "basic" not in page and "Someone else" not in page
    listed = [n.get("data-ticket") for n in root.find_all(lambda n: n.tag == "tr" and n.has("data-ticket"))]
    assert listed == [new.reference, old.reference]
    fragment = nina_client.get(f"/customers/{customer.public_id}", headers=HX)
    assert fragment.text.lstrip().startswith('<section id="customer"')


def test_customer_page_is_linked_from_the_ticket_and_from_results(nina_client, org):
    customer = factories.make_customer(org, name="Linked Lucy")
    ticket = factories.make_ticket(org, customer, subject="Linky")
    href = f"/customers/{customer.public_id}"
    assert f'href="{href}"' in nina_client.get(f"/tickets/{ticket.reference}").text
    assert f'href="{href}"' in nina_client.get("/search?q=linky").text
    assert f'href="{href}"' in nina_client.get(f"/tickets/{ticket.reference}/parts/customer", headers=HX).text


def test_another_organizations_customer_is_a_404(app, nina_client, org):
    other = factories.make_org(name="Elsewhere", slug="elsewhere", prefix="ELS")
    theirs = factories.make_customer(other, name="Not Yours")
    factories.make_ticket(other, theirs, subject="Secret")
    response = nina_client.get(f"/customers/{theirs.public_id}")
    assert response.status_code == 404 and "Not Yours" not in response.text
    assert nina_client.get("/customers/no-such-customer").status_code == 404
    assert nina_client.get(f"/customers/{theirs.public_id}", headers=HX).status_code == 404
    assert (
        app.test_client(user=factories.make_agent(other)).get(f"/customers/{theirs.public_id}").status_code
        == 200
    )


@pytest.mark.parametrize("url", ["/search?q=x", "/customers/anything"])
def test_signed_out_goes_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code in (302, 303) and "/login" in response.location
    assert client.get(url, headers=HX).status_code == 401
