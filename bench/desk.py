"""Desk page latency at 100,000 tickets: queue page and ticket page against a bare ceiling.

Seeds a migrated database with 100,000 tickets (two messages each, 8% still open, tags
and categories), one open ticket with 200 messages, then serves it with gunicorn
(2 workers x 4 threads unless told otherwise) and requests, from CONCURRENCY clients on
keep-alive connections signed in as an agent:

    queue/open   GET /?queue=open   (All open: the largest queue, sorted, counted, paged)
    queue/mine   GET /              (Mine, the default)
    ticket       GET /tickets/BEN-<n>  (200 messages, 200 timeline events)
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
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import loadgen  # noqa: E402

from tests.servers import gunicorn, helpdesk_env  # noqa: E402

PASSWORD = "benchmark"
BIG_THREAD = 200


def seed(url: str, instance: Path, tickets: int) -> str:
    """A migrated database with 100,000 tickets; returns the big ticket's reference."""
    os.environ["HELPDESK_INSTANCE_PATH"] = str(instance)
    from flask_migrate import upgrade
    from sqlalchemy import insert, text, update

    from helpdesk import accounts, audit, config, create_app
    from helpdesk.db import write_transaction
    from helpdesk.extensions import db
    from helpdesk.markdown import render_markdown, rendered
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
                    org_id=org.id, external_id=f"user_{n}", email=f"user{n}@example.org", name=f"User {n}"
                )
                for n in range(2000)
            ]
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

        description = "Payment failed with **CARD_DECLINED**.\n\n- Order: `12345`\n- Amount: 99.90"
        description_html = str(render_markdown(description))
        body, body_html = "Any news on my order?", str(render_markdown("Any news on my order?"))
        start = datetime.now(UTC) - timedelta(days=400)
        open_statuses = [Status.OPEN, Status.IN_PROGRESS, Status.WAITING]
        chunk = 5000
        for first in range(0, tickets, chunk):
            rows, numbers = [], range(first + 1, min(tickets, first + chunk) + 1)
            for number in numbers:
                is_open = rng.random() < 0.08
                assignee = rng.choice(agent_ids + [None] * 2) if is_open else rng.choice(agent_ids)
                if is_open and assignee == agent_ids[0] and rng.random() < 0.9:
                    assignee = agent_ids[1]  # the signed-in agent holds a realistic load
                closed = [Status.RESOLVED, Status.CLOSED]
                status = rng.choice(open_statuses) if is_open else rng.choice(closed)
                if assignee is None:
                    status = Status.OPEN
                created = start + timedelta(seconds=number * 340)
                rows.append(dict(
                    public_id=f"00000000-0000-4000-8000-{number:012d}", org_id=org_id, number=number,
                    subject=f"Order #{number} payment failed", description=description,
                    description_html=description_html, status=status,
                    priority=rng.choice(list(Priority)), channel=Channel.API,
                    category_id=rng.choice(category_ids), meta={"orderId": str(number)},
                    customer_id=rng.choice(customer_ids), assignee_id=assignee,
                    created_at=created, updated_at=created,
                ))  # fmt: skip
            with write_transaction():
                db.session.execute(insert(Ticket), rows)
                ids = dict(db.session.execute(
                    db.select(Ticket.number, Ticket.id)
                    .where(Ticket.org_id == org_id, Ticket.number.in_(numbers))
                ).all())  # fmt: skip
                db.session.execute(insert(Message), [
                    dict(public_id=f"10000000-0000-4000-8000-{number * 2 + k:012d}", org_id=org_id,
                         ticket_id=ids[number], role=MessageRole.CUSTOMER, body=body, body_html=body_html,
                         internal=False, created_at=start + timedelta(seconds=number * 340 + k))
                    for number in numbers for k in (0, 1)
                ])  # fmt: skip
                tagged = [dict(ticket_id=ids[n], tag_id=rng.choice(tag_ids)) for n in numbers if n % 4 == 0]
                db.session.execute(insert(ticket_tags), tagged)
        with write_transaction():
            db.session.execute(
                update(Organization).where(Organization.id == org_id).values(ticket_seq=tickets)
            )
            org = db.session.get(Organization, org_id)
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
        print("seeded", ", ".join(f"{count:,} {name}" for name, count in counts.items()))
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


def pages(reference: str) -> tuple[tuple[str, str], ...]:
    return (("queue/open", "/?queue=open"), ("queue/mine", "/"), ("ticket", f"/tickets/{reference}"))


def in_process(url: str, instance: Path, reference: str, requests: int) -> None:
    """Each page's own cost: CPU time of one request at a time through Flask's test client.

    Prints the minimum and median CPU time per request, the SQL statements per page, and
    the full (generation 2) garbage collections that landed on the page's requests.
    """
    import gc
    import time

    from sqlalchemy import event

    from helpdesk import create_app
    from helpdesk.extensions import db
    from helpdesk.models import Agent

    os.environ["HELPDESK_INSTANCE_PATH"] = str(instance)
    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        agent = db.session.scalar(db.select(Agent).where(Agent.email == "agent0@bench.test"))
        user_id = agent.get_id()
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
            assert client.get(path).status_code == 200
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
            f"  {name:11} CPU per request: min {min(cpu):5.1f} ms   median "
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
                f"  {name:11} p50 {result['p50']:6.1f} ms   p99 {result['p99']:6.1f} ms   "
                f"{result['throughput']:7.1f} pages/s   failures {result['failures']}"
            )
    if args.runs > 1 and not args.in_process:
        print("median over runs")
        for name in runs[0]:
            p50 = statistics.median(r[name]["p50"] for r in runs)
            p99 = statistics.median(r[name]["p99"] for r in runs)
            print(f"  {name:11} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")


if __name__ == "__main__":
    main()
