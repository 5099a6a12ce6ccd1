"""Full-text search of one organization's tickets (the index: search_index.py).

A query is words, never syntax: each whitespace-separated word is quoted as an FTS5
phrase (on PostgreSQL, `plainto_tsquery` reads it as plain text), so quotes, `*`,
`NEAR(`, `OR`, backslashes and SQL are all just words. Every word must match.

A page ranks at most the newest CANDIDATES matching tickets (by relevance, then the
latest update; on SQLite also the newest CANDIDATES matching in the subject or customer,
and in the description): a search is then as fast at a million tickets as at a thousand,
however common its words. When more tickets match, the count says "1,000+" and the agent
adds a word or a filter, which both narrow the candidates inside the index.
"""

import re
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import Integer, Row, String, column, text

from .enums import Priority, Status
from .extensions import db
from .models import Ticket

CANDIDATES = 1000
PAGE_SIZE = 25
MAX_WORDS = 12
SNIPPET_CHARS = 240
# Bracket a match in snippets: characters that markup never holds.
OPEN_MARK, CLOSE_MARK = "\x02", "\x03"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Marks that only punctuation parts are one match: PostgreSQL marks DECLINED_05 as two words.
_SPLIT_MARK = re.compile(f"{CLOSE_MARK}((?:[^\\w\\s{OPEN_MARK}{CLOSE_MARK}]|_){{1,3}}){OPEN_MARK}")
_HAS_WORD = re.compile(r"[^\W_]")


@dataclass(frozen=True)
class Found:
    """One page of results; `total` is at most CANDIDATES, `more` when others were left out."""

    tickets: list[Row]
    total: int
    more: bool
    snippets: dict[int, Markup]


def words(query: str) -> list[str]:
    """The words of a query: whitespace-separated, each with a letter or digit in it."""
    return [word for word in _CONTROL.sub(" ", query).split() if _HAS_WORD.search(word)][:MAX_WORDS]


def _phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


_CONTENT = "{subject customer description conversation}"
# Snippets show where the text matched: the subject and customer are on the row already.
_TEXT = "{description conversation}"
_DESCRIBED, _TITLED = "{subject customer description}", "{subject customer}"
# Both databases: `matches`, the newest CANDIDATES + 1 matching tickets (more than
# CANDIDATES: the count says "1,000+"), and `shown`, what the page ranks, by `score`.
#
# SQLite ranks in tiers: every word in the subject or customer (0), in those or the
# description (1), anywhere (2). Each tier is the newest CANDIDATES of its own match, so
# a ticket named in its subject is found however old. FTS5's bm25() would read every
# matching row of each word (and of the organization's facet: all its tickets) for its
# statistics: 40 ms at 100,000 tickets, ten times that at a million.
_SQLITE_HITS = """
    matches AS MATERIALIZED (
        SELECT rowid AS ticket_id FROM ticket_search WHERE ticket_search MATCH :match
        ORDER BY rowid DESC LIMIT :candidates
    ),
    shown AS (
        SELECT ticket_id, min(tier) AS score FROM (
            SELECT * FROM (SELECT ticket_id, 2 AS tier FROM matches ORDER BY ticket_id DESC LIMIT :shown)
            UNION ALL SELECT * FROM (
                SELECT rowid AS ticket_id, 1 AS tier FROM ticket_search WHERE ticket_search MATCH :described
                ORDER BY rowid DESC LIMIT :shown)
            UNION ALL SELECT * FROM (
                SELECT rowid AS ticket_id, 0 AS tier FROM ticket_search WHERE ticket_search MATCH :titled
                ORDER BY rowid DESC LIMIT :shown)
        ) GROUP BY ticket_id
    )"""
# PostgreSQL: ts_rank reads only the row's own document (weights A to C), so the newest
# matches are ranked by it. The planner reads them from the GIN index when a word is
# rare, and newest first from (org_id, ticket_id) when it is common.
_POSTGRESQL_HITS = """
    matches AS MATERIALIZED (
        SELECT s.ticket_id, -ts_rank(s.document, q.query) AS score
        FROM ticket_search s JOIN tickets f ON f.id = s.ticket_id,
             plainto_tsquery('english', :terms) AS q(query)
        WHERE s.org_id = :org_id AND s.document @@ q.query {filters}
        ORDER BY s.ticket_id DESC LIMIT :candidates
    ),
    shown AS (SELECT ticket_id, score FROM matches ORDER BY ticket_id DESC LIMIT :shown)"""
_PAGE = """
    WITH {hits}
    SELECT t.id, t.public_id, t.number, t.subject, t.status, t.priority, t.created_at,
           t.updated_at, c.public_id AS customer_public_id, c.name AS customer_name,
           c.email AS customer_email, c.external_id AS customer_external_id,
           a.name AS assignee, count(*) OVER () AS total,
           (SELECT count(*) FROM matches) AS matched
    FROM shown JOIN tickets t ON t.id = shown.ticket_id
    JOIN customers c ON c.id = t.customer_id
    LEFT JOIN agents a ON a.id = t.assignee_id
    WHERE t.org_id = :org_id {filters}
    ORDER BY shown.score, t.updated_at DESC, t.id DESC
    LIMIT :limit OFFSET :offset"""
# The page's columns with their types (statuses as enums, times in UTC), in its order.
_PAGE_COLUMNS = (
    Ticket.id, Ticket.public_id, Ticket.number, Ticket.subject, Ticket.status, Ticket.priority,
    Ticket.created_at, Ticket.updated_at, column("customer_public_id", String),
    column("customer_name", String), column("customer_email", String),
    column("customer_external_id", String), column("assignee", String), column("total", Integer),
    column("matched", Integer),
)  # fmt: skip
_SQLITE_SNIPPETS = """
    SELECT rowid, snippet(ticket_search, -1, :open, :close, '…', 16)
    FROM ticket_search WHERE ticket_search MATCH :terms AND rowid IN ({ids})"""
# PostgreSQL: the first part (description, then messages in order) that matches, marked.
_POSTGRESQL_SNIPPETS = """
    SELECT DISTINCT ON (part.ticket_id) part.ticket_id,
           ts_headline('english', left(part.body, 20000), q.query, :options)
    FROM (
        SELECT t.id AS ticket_id, 0 AS position, t.description AS body
        FROM tickets t WHERE t.id IN ({ids})
        UNION ALL
        SELECT m.ticket_id, m.id, m.body FROM messages m WHERE m.ticket_id IN ({ids})
    ) part, plainto_tsquery('english', :terms) AS q(query)
    WHERE to_tsvector('english', left(part.body, 20000)) @@ q.query
    ORDER BY part.ticket_id, part.position"""


def _facets(org_id: int, status: Status | None, priority: Priority | None) -> list[str]:
    """The words of the index's facets column a search requires (SQLite)."""
    facets = [f"o{org_id}"]
    if status:
        facets.append("s" + str(status).replace("_", "").lower())
    if priority:
        facets.append(f"p{priority.rank}")
    return facets


def search(
    org_id: int, query: str, *, status: Status | None = None,
    priority: Priority | None = None, page: int = 1,
) -> Found:  # fmt: skip
    """Tickets of the organization matching every word of `query`, best first."""
    terms = words(query)
    if not terms:
        return Found([], 0, False, {})
    params = {
        "org_id": org_id, "candidates": CANDIDATES + 1, "shown": CANDIDATES, "limit": PAGE_SIZE,
        "offset": (page - 1) * PAGE_SIZE,
    }  # fmt: skip
    conditions = []
    if status:
        conditions.append("{alias}.status = :status")
        params["status"] = str(status)
    if priority:
        conditions.append("{alias}.priority = :priority")
        params["priority"] = priority.rank
    filters = "".join(f" AND {condition}" for condition in conditions)
    sqlite = db.engine.dialect.name == "sqlite"
    if sqlite:
        phrases = " ".join(_phrase(word) for word in terms)
        facets = [f"facets : {_phrase(facet)}" for facet in _facets(org_id, status, priority)]
        for name, columns in (("match", _CONTENT), ("described", _DESCRIBED), ("titled", _TITLED)):
            params[name] = " AND ".join([*facets, f"{columns} : ({phrases})"])
        hits = _SQLITE_HITS
    else:
        params["terms"] = " ".join(terms)
        hits = _POSTGRESQL_HITS.format(filters=filters.format(alias="f"))
    page_sql = _PAGE.format(hits=hits, filters=filters.format(alias="t"))
    rows = db.session.execute(text(page_sql).columns(*_PAGE_COLUMNS), params).all()
    if rows:
        total, matched = rows[0].total, rows[0].matched
    elif page > 1:
        # Past the last page: only the counts are wanted.
        counts = f"WITH {hits} SELECT (SELECT count(*) FROM shown), (SELECT count(*) FROM matches)"
        total, matched = db.session.execute(text(counts), params).one()
    else:
        total = matched = 0
    snippets = _snippets(terms, [row.id for row in rows], sqlite) if rows else {}
    return Found(rows, min(total, CANDIDATES), matched > CANDIDATES, snippets)


def _snippets(terms: list[str], ticket_ids: list[int], sqlite: bool) -> dict[int, Markup]:
    """Where each ticket matched, a few words around it with the words marked."""
    ids = ", ".join(str(int(ticket_id)) for ticket_id in ticket_ids)
    if sqlite:
        statement = _SQLITE_SNIPPETS.format(ids=ids)
        params = {
            "terms": f"{_TEXT} : ({' '.join(_phrase(word) for word in terms)})",
            "open": OPEN_MARK, "close": CLOSE_MARK,
        }  # fmt: skip
    else:
        statement = _POSTGRESQL_SNIPPETS.format(ids=ids)
        params = {
            "terms": " ".join(terms),
            "options": f"StartSel={OPEN_MARK}, StopSel={CLOSE_MARK}, MaxWords=30, MinWords=12",
        }  # fmt: skip
    return {
        ticket_id: highlight(snippet)
        for ticket_id, snippet in db.session.execute(text(statement), params)
        if snippet
    }


def highlight(snippet: str) -> Markup:
    """A snippet with its marked words in <mark>, everything else escaped.

    Only the two mark characters become markup, and always as a balanced pair; marked
    words that only punctuation parts (DECLINED_05, e-mail) are one mark. The text is
    cut to SNIPPET_CHARS (a match is never split from its tag).
    """
    parts: list[str] = []
    marked, length = False, 0
    snippet = _SPLIT_MARK.sub(r"\1", snippet)
    for piece in re.split(f"([{OPEN_MARK}{CLOSE_MARK}])", snippet):
        if piece == OPEN_MARK:
            if not marked:
                parts.append("<mark>")
                marked = True
        elif piece == CLOSE_MARK:
            if marked:
                parts.append("</mark>")
                marked = False
        elif piece:
            room = SNIPPET_CHARS - length
            if room <= 0:
                break
            clipped = piece if len(piece) <= room else piece[:room] + "…"
            parts.append(str(escape(_CONTROL.sub(" ", clipped))))
            length += len(clipped)
    if marked:
        parts.append("</mark>")
    return Markup("".join(parts))
