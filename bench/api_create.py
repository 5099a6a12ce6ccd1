"""Ticket creation throughput and latency: our full create path against a naive ceiling.

Both run under gunicorn (2 workers x 4 threads) on a fresh SQLite file and get the same
load: CONCURRENCY clients, each on its own keep-alive connection, posting one after the
other. Ours is POST /api/v1/tickets/api-create (validation, customer, number, routing,
assignment to 4 available agents, Markdown, audit, notifications, outbox); the ceiling is
bench/ceiling.py (parse JSON, insert one row). Prints throughput, p50 and p99 of each,
the CPU a request cost the server's workers and the load generator (both on this
machine's cores), and the ratio of throughputs.

Both servers stay up for the whole measurement, and the load alternates between them in
ROUNDS rounds, so that a change in the machine's speed (seen here: the ceiling's rate
halving within a quarter of an hour) weighs on both alike instead of on whichever ran
second. Each side's throughput is its requests over the seconds its rounds took; its
percentiles are of all its requests.

    .venv/bin/python bench/api_create.py [--requests 2000] [--concurrency 16] [--runs 1]
                                         [--rounds 10] [--workers 2] [--threads 4]

The issue's measurement is the default shape, 2 workers x 4 threads; other shapes (every
side gets the same) show what a worker's threads cost each other.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import loadgen  # noqa: E402

from tests.servers import cpu_seconds, gunicorn, gunicorn_workers, helpdesk_env  # noqa: E402

BODY = {
    "customerExternalId": "user_42",
    "subject": "Payment failed for order #12345",
    "description": "Payment attempt failed with **CARD_DECLINED**. Customer has been notified.",
    "priority": "HIGH",
    "metadata": {"orderId": "12345", "amount": 99.9},
}


def seed(database: Path, instance: Path) -> str:
    """A migrated database with an organization, 4 available agents, a customer; the key."""
    import os

    os.environ["HELPDESK_INSTANCE_PATH"] = str(instance)
    from flask_migrate import upgrade

    from helpdesk import accounts, config, create_app
    from helpdesk.customers import upsert_customer
    from helpdesk.db import write_transaction
    from helpdesk.extensions import db
    from helpdesk.models import Availability

    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{database}"})
    with app.app_context():
        upgrade(directory=str(config.MIGRATIONS))
        with write_transaction():
            org = accounts.create_org("Bench", "bench", "BEN")
            for n in range(4):
                accounts.create_agent(
                    org, email=f"agent{n}@bench.test", name=f"Agent {n}", password="benchmark",
                    availability=Availability.AVAILABLE, capacity=1_000_000,
                )  # fmt: skip
            upsert_customer(org, external_id="user_42", email="john@acme.com")
            _, secret = accounts.issue_api_key(org, "bench")
        db.engine.dispose()
    return secret


def load(base_url: str, path: str, headers: dict, total: int, concurrency: int) -> dict:
    """Post `total` copies of BODY from `concurrency` clients: throughput and latency, and
    the CPU seconds the server's workers and the clients (this process) used meanwhile."""
    workers = gunicorn_workers(base_url)
    server, client = cpu_seconds(workers), time.process_time()
    result = loadgen.run(
        base_url, "POST", path, total=total, concurrency=concurrency,
        headers={"Content-Type": "application/json", **headers},
        body=json.dumps(BODY).encode(), expect=201,
    )
    result["server_cpu"] = cpu_seconds(workers) - server
    result["client_cpu"] = time.process_time() - client
    return result


def pooled(results: list[dict]) -> dict:
    """The rounds of one side as one result, with CPU per request in ms."""
    summary = loadgen.combine(results)
    count = len(summary["latencies"]) or 1
    for key in ("server_cpu", "client_cpu"):
        summary[key] = sum(result[key] for result in results) / count * 1000
    return summary


def measure(args: argparse.Namespace) -> dict[str, dict]:
    requests, concurrency, warmup, rounds = args.requests, args.concurrency, args.warmup, args.rounds
    shape = {"workers": args.workers, "threads": args.threads}
    with tempfile.TemporaryDirectory(prefix="bench-api-") as folder:
        folder = Path(folder)
        secret = seed(folder / "helpdesk.db", folder / "instance")
        env = helpdesk_env(
            folder / "instance", f"sqlite:///{folder / 'helpdesk.db'}", RATELIMIT_ENABLED="0"
        )
        ceiling_env = dict(env, CEILING_DATABASE=str(folder / "ceiling.db"))
        create = "/api/v1/tickets/api-create"
        with ExitStack() as servers:

            def serve(name: str, env: dict, app: str = "helpdesk:create_app()") -> str:
                log = folder / f"{name}.log"
                return servers.enter_context(gunicorn(env, **shape, app=app, log=log))

            sides = {
                "ours": (serve("ours", env), create, {"X-API-Key": secret}),
                "ceiling": (serve("ceiling", ceiling_env, "bench.ceiling:create_app()"), "/create", {}),
            }
            results = {name: [] for name in sides}
            for url, path, headers in sides.values():
                load(url, path, headers, warmup, concurrency)
            for round_ in range(rounds):
                share = requests // rounds + (round_ < requests % rounds)
                for name, (url, path, headers) in sides.items():
                    results[name].append(load(url, path, headers, share, concurrency))
    return {name: pooled(rounds_) for name, rounds_ in results.items()}


def show(name: str, result: dict) -> None:
    print(
        f"{name:8} {result['throughput']:8.1f} req/s   p50 {result['p50']:7.1f} ms   "
        f"p99 {result['p99']:7.1f} ms   failures {result['failures']}   CPU per request: "
        f"server {result['server_cpu']:.2f} ms, clients {result['client_cpu']:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    print(
        f"gunicorn {args.workers} workers x {args.threads} threads, SQLite, "
        f"concurrency {args.concurrency}, "
        f"{args.requests} creations per measurement, alternating in {args.rounds} rounds"
    )
    ratios, p99_ratios = [], []
    for run in range(1, args.runs + 1):
        sides = measure(args)
        print(f"run {run}")
        for name, result in sides.items():
            show(name, result)
        ratios.append(sides["ours"]["throughput"] / sides["ceiling"]["throughput"])
        p99_ratios.append(sides["ours"]["p99"] / sides["ceiling"]["p99"])
        print(f"ratio    {ratios[-1]:.2f} of the ceiling's throughput; p99 {p99_ratios[-1]:.2f}x its p99")
    if args.runs > 1:
        print(
            f"medians: {statistics.median(ratios):.2f} of the ceiling's throughput, "
            f"p99 {statistics.median(p99_ratios):.2f}x its p99"
        )


if __name__ == "__main__":
    main()
