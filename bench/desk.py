"""Desk page latency at 100,000 tickets: queue, ticket and search pages against a bare ceiling.

Seeds a migrated database with 100,000 tickets (two messages each, 8% still open, tags
and categories; `--tickets 1000000` takes a few minutes), one open ticket with 200
messages, then serves it with gunicorn
(2 workers x 4 threads unless told otherwise) and requests, from CONCURRENCY clients on
keep-alive connections signed in as an agent:

    queue/open   GET /?queue=open   (All open: the largest queue, sorted, counted, paged)
    queue/mine   GET /              (Mine, the default)
    queue/updated GET /?queue=open&sort=updated
    ticket       GET /tickets/BEN-<n>  (200 messages, 200 timeline events)
    search/*     GET /search?q=…    (one word, two words, a word of every ticket)
    ceiling      a bare Flask page listing 50 rows of the same tickets table

and prints p50/p99 of each. The ceiling is `bare_app()` below, also under gunicorn.

    .venv/bin/python bench/desk.py [--tickets 100000] [--requests 1000] [--concurrency 4]
                                   [--database-url postgresql://…] [--runs 1] [--keep DIR]
                                   [--workers 2] [--threads 4]

`--keep DIR` seeds SQLite into DIR once and reuses it on later runs. `--in-process` serves
nothing: it times the same pages one request at a time through Flask's test client (the
CPU a page costs, its SQL statements, and the full garbage collections that hit it).
"""

import argparse
import http.client
import os
import random
import re
import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote_plus, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import loadgen  # noqa: E402

from tests.servers import gunicorn, helpdesk_env  # noqa: E402

PASSWORD = "benchmark"
BIG_THREAD = 200


SYLLABLES = ["ka", "zu", "mer", "tol", "vin", "ra", "pex", "lo", "dra", "qui", "sen", "bor", "fa", "nim"]
# Words of the seeded text: a few hundred made-up ones, each in a known share of tickets.
VOCABULARY = sorted({a + b + c for a in SYLLABLES for b in SYLLABLES for c in SYLLABLES[:4]})
DESCRIPTIONS = 200  # distinct descriptions: each of their words is in 1 ticket of 200
MESSAGES = 500  # distinct message bodies


def seed_text(rng: random.Random):
    """The pools of descriptions and messages the tickets are made of, rendered once."""
    from helpdesk.markdown import render_markdown

    def pick(count):
        return " ".join(rng.choice(VOCABULARY) for _ in range(count))

    descriptions = []
    for n in range(DESCRIPTIONS):
        text = (
            f"Payment failed with **CARD_DECLINED** on the {VOCABULARY[n]} plan.\n\n"
            f"- Order: `{10000 + n}`\n- Amount: 99.90\n\n{pick(12)}"
        )
        descriptions.append((text, str(render_markdown(text))))
    messages = []
    for n in range(MESSAGES):
        text = f"Any news on my order? The {VOCABULARY[-1 - n % len(VOCABULARY)]} screen says {pick(6)}."
        messages.append((text, str(render_markdown(text))))
    return descriptions, messages


def seed(url: str, instance: Path, tickets: int) -> str:
    """A migrated database with `tickets` tickets; returns the big ticket's reference.

    The rows go in by executemany in chunks with the full-text triggers dropped; the index
    is then built in one statement (as the migration does for existing data) and the
    triggers come back before the big ticket is written through the services.
    """
    import time

    os.environ["HELPDESK_INSTANCE_PATH"] = str(instance)
    from flask_migrate import upgrade
    from sqlalchemy import insert, text, update

    from helpdesk import accounts, audit, config, create_app, search_index
    from helpdesk.db import write_transaction
    from helpdesk.extensions import db
    from helpdesk.markdown import rendered
    from helpdesk.models import (
        Availability,
        Category,
        Channel,
        Customer,
        Message,
        MessageRole,
        Organization,
        Priority,
        Status,
        Tag,
        Ticket,
        TicketEvent,
        ticket_tags,
    )  # fmt: skip
    from helpdesk.tickets import add_message

    began = time.perf_counter()
    rng = random.Random(42)
    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": url})
    with app.app_context():
        if not url.startswith("sqlite"):
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(directory=str(config.MIGRATIONS))
        with write_transaction():
            org = accounts.create_org("Bench", "bench", "BEN")
            agents = [
                accounts.create_agent(
                    org, email=f"agent{n}@bench.test", name=f"Agent {n}", password=PASSWORD,
                    availability=Availability.OFFLINE,
                )
                for n in range(6)
            ]  # fmt: skip
            customers = [
                Customer(
                    org_id=org.id, external_id=f"user_{n}", email=f"user{n}@example.org",
                    name=f"{rng.choice(VOCABULARY).title()} {rng.choice(VOCABULARY).title()}",
                )
                for n in range(max(2000, tickets // 50))
            ]  # fmt: skip
            db.session.add_all(customers)
            categories = [Category(org_id=org.id, name=name) for name in
                          ("Billing", "Orders", "Connectivity", "Accounts", "Hardware", "Shipping")]
            tags = [Tag(org_id=org.id, name=name) for name in ("vip", "refund", "bug", "legal", "churn")]
            db.session.add_all(categories + tags)
            db.session.flush()
            org_id, agent_ids = org.id, [agent.id for agent in agents]
            customer_ids = [customer.id for customer in customers]
            category_ids = [category.id for category in categories]
            tag_ids = [tag.id for tag in tags]
        with db.engine.begin() as connection:
            search_index.drop_triggers(connection)

        descriptions, messages = seed_text(rng)
        tickets_table, messages_table = Ticket.__table__, Message.__table__
        start = datetime.now(UTC) - timedelta(days=400)
        spacing = 400 * 86400 / tickets  # creation times spread over 400 days
        open_statuses = [Status.OPEN, Status.IN_PROGRESS, Status.WAITING]
        closed = [Status.RESOLVED, Status.CLOSED]
        priorities = list(Priority)
        chunk = 10000
        for first in range(0, tickets, chunk):
            rows, numbers = [], range(first + 1, min(tickets, first + chunk) + 1)
            for number in numbers:
                is_open = rng.random() < 0.08
                assignee = rng.choice(agent_ids + [None] * 2) if is_open else rng.choice(agent_ids)
                if is_open and assignee == agent_ids[0] and rng.random() < 0.9:
                    assignee = agent_ids[1]  # the signed-in agent holds a realistic load
                status = rng.choice(open_statuses) if is_open else rng.choice(closed)
                if assignee is None:
                    status = Status.OPEN
                created = start + timedelta(seconds=number * spacing)
                description, description_html = descriptions[number % DESCRIPTIONS]
                rows.append(dict(
                    public_id=f"00000000-0000-4000-8000-{number:012d}", org_id=org_id,
                    number=number, subject=f"Order #{number} payment failed", description=description,
                    description_html=description_html, status=status, priority=rng.choice(priorities),
                    channel=Channel.API, level="N1", category_id=rng.choice(category_ids),
                    category_source=None, category_confidence=None, metadata={"orderId": str(number)},
                    customer_id=rng.choice(customer_ids), assignee_id=assignee, created_at=created,
                    updated_at=created + timedelta(seconds=rng.random() * 3 * 86400), assigned_at=None,
                ))  # fmt: skip
            with write_transaction():
                db.session.execute(insert(tickets_table), rows)
                ids = dict(db.session.execute(
                    db.select(Ticket.number, Ticket.id)
                    .where(Ticket.org_id == org_id, Ticket.number.in_(numbers))
                ).all())  # fmt: skip
                replies = []
                for number in numbers:
                    for k in (0, 1):
                        body, body_html = messages[rng.randrange(MESSAGES)]
                        replies.append(dict(
                            public_id=f"10000000-0000-4000-8000-{number * 2 + k:012d}",
                            org_id=org_id, ticket_id=ids[number], role=MessageRole.CUSTOMER, body=body,
                            body_html=body_html, internal=False, author_id=None,
                            created_at=start + timedelta(seconds=number * spacing + k),
                        ))  # fmt: skip
                db.session.execute(insert(messages_table), replies)
                tagged = [dict(ticket_id=ids[n], tag_id=rng.choice(tag_ids)) for n in numbers if n % 4 == 0]
                db.session.execute(insert(ticket_tags), tagged)
            if first and first % 200_000 == 0:
                print(f"  {first:,} tickets in {time.perf_counter() - began:.0f} s", flush=True)
        loaded = time.perf_counter()
        with db.engine.begin() as connection:
            search_index.build(connection)
            search_index.install(connection)
        indexed = time.perf_counter()
        with write_transaction():
            db.session.execute(
                update(Organization).where(Organization.id == org_id).values(ticket_seq=tickets)
            )
            org = db.session.get(Organization, org_id)
            description, description_html = descriptions[0]
            big = Ticket(
                org=org, number=tickets + 1, subject="A long conversation", description=description,
                description_html=description_html, status=Status.IN_PROGRESS, priority=Priority.HIGH,
                customer_id=customer_ids[0], assignee_id=agent_ids[0], category_id=category_ids[0],
                meta={"orderId": "1", "plan": "pro"},
            )  # fmt: skip
            org.ticket_seq = tickets + 1
            db.session.add(big)
            db.session.flush()
            agent = db.session.get(type(agents[0]), agent_ids[0])
            for n in range(BIG_THREAD // 2):
                asked, answered = rendered(f"Customer message **{n}**"), rendered(f"Agent answer {n}")
                add_message(big, MessageRole.CUSTOMER, asked, audit.Actor(label="API"))
                add_message(big, MessageRole.AGENT, answered, audit.Actor.of(agent), internal=n % 5 == 0)
            reference = big.reference
        counts = {
            name: db.session.scalar(db.select(db.func.count()).select_from(model))
            for name, model in (("tickets", Ticket), ("messages", Message), ("events", TicketEvent))
        }
        print(
            "seeded", ", ".join(f"{count:,} {name}" for name, count in counts.items()),
            f"in {time.perf_counter() - began:.0f} s (rows {loaded - began:.0f} s,"
            f" full-text index {indexed - loaded:.0f} s)",
        )  # fmt: skip
        if db.engine.dialect.name == "postgresql":
            # Measure a settled database, as autovacuum leaves it a minute after a bulk
            # load: planner statistics (without them it expects 3 open tickets of 100,000
            # and sorts them all), and the visibility map for index-only scans.
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
        db.engine.dispose()
    return reference


def sign_in(base_url: str) -> str:
    """The session cookie of agent0 after a real sign-in with the CSRF token."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.request("GET", "/login")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = f"email=agent0%40bench.test&password={PASSWORD}&csrf_token={token}"
    connection.request(
        "POST", "/login", body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )  # fmt: skip
    response = connection.getresponse()
    response.read()
    assert response.status == 303, response.status
    return response.getheader("Set-Cookie").split(";", 1)[0]


def load(base_url: str, path: str, cookie: str, total: int, concurrency: int) -> dict:
    """GET `path` `total` times from `concurrency` keep-alive clients; latency percentiles."""
    return loadgen.run(
        base_url, "GET", path, total=total, concurrency=concurrency,
        headers={"Cookie": cookie} if cookie else {},
    )


def bare_app():
    """The ceiling: a bare Flask page listing 50 rows of the same tickets table."""
    from flask import Flask, render_template_string
    from sqlalchemy import create_engine, text

    url = os.environ["DESK_BENCH_DATABASE"]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url)
    app = Flask(__name__)
    page = (
        "<!doctype html><title>Tickets</title><table>{% for row in rows %}<tr><td>{{ row.number }}</td>"
        "<td>{{ row.subject }}</td><td>{{ row.status }}</td><td>{{ row.priority }}</td>"
        "<td>{{ row.created_at }}</td></tr>{% endfor %}</table>"
    )

    @app.get("/")
    def tickets():
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT number, subject, status, priority, created_at FROM tickets "
                    "WHERE org_id = 1 ORDER BY created_at DESC LIMIT 50"
                )
            ).all()
        return render_template_string(page, rows=rows)

    return app


# One word in about 1 ticket of 200 (a description's plan), two words that meet in fewer
# (that plan and a word of the messages), and a word of every ticket (the page then ranks
# the newest 1,000 matches).
SEARCHES = {
    "search/1word": VOCABULARY[7],
    "search/2words": f"{VOCABULARY[7]} {VOCABULARY[-1 - 7]}",
    "search/common": "payment",
}


def pages(reference: str) -> tuple[tuple[str, str], ...]:
    return (
        ("queue/open", "/?queue=open"), ("queue/mine", "/"), ("queue/updated", "/?queue=open&sort=updated"),
        ("ticket", f"/tickets/{reference}"),
        *((name, f"/search?q={quote_plus(query)}") for name, query in SEARCHES.items()),
    )  # fmt: skip


def in_process(url: str, instance: Path, reference: str, requests: int) -> None:
    """Each page's own cost: CPU time of one request at a time through Flask's test client.

    Prints the minimum and median CPU time per request, the SQL statements per page, and
    the full (generation 2) garbage collections that landed on the page's requests.
    """
    import gc
    import time

    from sqlalchemy import event

    from helpdesk import auth, create_app
    from helpdesk.db import write_transaction
    from helpdesk.extensions import db
    from helpdesk.models import Agent

    os.environ["HELPDESK_INSTANCE_PATH"] = str(instance)
    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": url, "RATELIMIT_ENABLED": False})
    with app.app_context(), write_transaction():
        agent = db.session.scalar(db.select(Agent).where(Agent.email == "agent0@bench.test"))
        auth.start_session(agent)  # a server-side session, as a real sign-in makes
        user_id = agent.session_key
    with app.app_context():
        db.session.remove()
        statements = []
        event.listen(db.engine, "before_cursor_execute", lambda *_: statements.append(1))
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_id  # signed in, as Flask-Login remembers it
    full_collections: list[float] = []
    started = 0.0

    def timed_collection(phase: str, info: dict) -> None:
        nonlocal started
        if info["generation"] == 2:
            if phase == "start":
                started = time.perf_counter()
            else:
                full_collections.append((time.perf_counter() - started) * 1000)

    gc.callbacks.append(timed_collection)
    for name, path in pages(reference):
        for _ in range(20):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code, response.text[:300])
        statements.clear()
        client.get(path)
        count = len(statements)
        full_collections.clear()
        cpu = []
        for _ in range(requests):
            start = time.thread_time()
            client.get(path)
            cpu.append((time.thread_time() - start) * 1000)
        collections = (
            f"{len(full_collections)} full GC, {statistics.mean(full_collections):.0f} ms each"
            if full_collections else "no full GC"
        )
        print(
            f"  {name:14} CPU per request: min {min(cpu):5.1f} ms   median "
            f"{statistics.median(cpu):5.1f} ms   {count} SQL statements   {collections}"
        )
    gc.callbacks.remove(timed_collection)


def measure(args, folder: Path) -> dict:
    url = args.database_url or f"sqlite:///{folder / 'helpdesk.db'}"
    if args.keep and (folder / "helpdesk.db").exists():
        reference = f"BEN-{args.tickets + 1}"  # the big ticket is seeded last
    else:
        reference = seed(url, folder / "instance", args.tickets)
    if args.in_process:
        in_process(url, folder / "instance", reference, args.requests)
        return {}
    env = helpdesk_env(folder / "instance", url, RATELIMIT_ENABLED="0")
    results = {}
    with gunicorn(env, workers=args.workers, threads=args.threads, log=folder / "ours.log") as base:
        cookie = sign_in(base)
        for name, path in pages(reference):
            load(base, path, cookie, args.warmup, args.concurrency)
            results[name] = load(base, path, cookie, args.requests, args.concurrency)
    env = dict(env, DESK_BENCH_DATABASE=url)
    with gunicorn(
        env, workers=args.workers, threads=args.threads, app="bench.desk:bare_app()",
        log=folder / "ceiling.log",
    ) as base:
        load(base, "/", "", args.warmup, args.concurrency)
        results["ceiling"] = load(base, "/", "", args.requests, args.concurrency)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--database-url", help="PostgreSQL URL (its public schema is dropped!)")
    parser.add_argument("--keep", type=Path, help="seed SQLite into this folder once and reuse it")
    parser.add_argument(
        "--in-process", action="store_true",
        help="no gunicorn: CPU time of one request at a time through Flask's test client",
    )  # fmt: skip
    args = parser.parse_args()
    shape = (
        "in process, one request at a time" if args.in_process
        else f"gunicorn {args.workers} workers x {args.threads} threads, concurrency {args.concurrency}"
    )  # fmt: skip
    print(
        f"{shape}, {'PostgreSQL' if args.database_url else 'SQLite'}, {args.tickets:,} tickets, "
        f"{args.requests} requests per page; load average {os.getloadavg()[0]:.2f}"
    )
    runs = []
    for run in range(1, args.runs + 1):
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            results = measure(args, args.keep.resolve())
        else:
            with tempfile.TemporaryDirectory(prefix="bench-desk-") as folder:
                results = measure(args, Path(folder))
        runs.append(results)
        if args.in_process:
            continue
        print(f"run {run}")
        for name, result in results.items():  # empty in process: already printed
            print(
                f"  {name:14} p50 {result['p50']:6.1f} ms   p99 {result['p99']:6.1f} ms   "
                f"{result['throughput']:7.1f} pages/s   failures {result['failures']}"
            )
    if args.runs > 1 and not args.in_process:
        print("median over runs")
        for name in runs[0]:
            p50 = statistics.median(r[name]["p50"] for r in runs)
            p99 = statistics.median(r[name]["p99"] for r in runs)
            print(f"  {name:14} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")


if __name__ == "__main__":
    main()
