"""API creation throughput with the outbox worker off, on, and on with SMTP down.

Real processes: gunicorn serving the app, `helpdesk worker`, an aiosmtpd sink (niced,
as the mail server would be another machine), all on 127.0.0.1. Each round posts N
tickets (each auto-assigned, so each queues an email) with C concurrent clients, then
reports requests/s and latency, and how long the worker took to deliver every email.
With SMTP down, SMTP is started after the load and the time to drain is measured from
then. Rounds are interleaved and repeated; the median is shown.

    .venv/bin/python bench/notifications.py [--tickets 300] [--concurrency 8] [--repeat 3]
        [--database-url postgresql://postgres@127.0.0.1:5432/bench_notify]
"""

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import loadgen  # noqa: E402

from tests import servers  # noqa: E402


@contextmanager
def smtp_sink(port: int) -> Iterator[None]:
    """An SMTP server that accepts and drops mail, as its own low-priority process.

    In production the mail server is another machine; here it must not take CPU from
    the web workers being measured.
    """
    process = subprocess.Popen(
        ["nice", "-n", "10", sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
         "-l", f"127.0.0.1:{port}"],
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield
    finally:
        servers.stop(process)


def sent_count(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM outbox WHERE status = 'sent'")).scalar()


def post_tickets(url: str, key: str, count: int, concurrency: int) -> dict:
    """Create `count` tickets through the API; throughput and latency from the load generator."""
    result = loadgen.run(
        url, "POST", "/api/v1/tickets/api-create", total=count, concurrency=concurrency,
        headers={"X-API-Key": key, "Content-Type": "application/json"},
        body=json.dumps(
            {"customerExternalId": "bench", "subject": "Load", "description": "Load"}
        ).encode(),
        expect=201,
    )
    if result["failures"]:
        raise RuntimeError(f"{result['failures']} creations failed")
    return result


def wait_for_sent(engine, target: int, timeout: float = 600) -> float:
    """Seconds until `target` outbox rows are sent."""
    started = time.perf_counter()
    while (sent := sent_count(engine)) < target:
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{sent} of {target} emails after {timeout} s")
        time.sleep(0.1)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repetitions of the rounds")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    smtp_port = servers.free_port()
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    if args.database_url:
        from tests.conftest import reset_postgres

        reset_postgres(args.database_url)
    env = servers.helpdesk_env(
        workdir / "instance",
        database_url,
        RATELIMIT_ENABLED=0,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp_port,
        OUTBOX_POLL_SECONDS=0.2,
        OUTBOX_BACKOFF_SECONDS=0.5,
        OUTBOX_BACKOFF_MAX_SECONDS=2,
        OUTBOX_MAX_ATTEMPTS=1000,
    )
    servers.run_cli(env, "init")
    servers.run_cli(env, "create-org", "Bench", "--slug", "bench", "--prefix", "B")
    for n in range(4):
        servers.run_cli(env, "create-agent", "--org", "bench", "--email", f"agent{n}@bench.test",
                        "--name", f"Agent {n}", "--password", "benchmark-pw",
                        "--availability", "available", "--capacity", "100000")
    servers.run_cli(env, "create-customer", "--org", "bench", "--external-id", "bench")
    key = servers.run_cli(env, "create-api-key", "--org", "bench", "--name", "bench").strip().splitlines()[-1]

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    rounds = [("worker on, SMTP up", True, True), ("worker on, SMTP down", True, False),
              ("worker off", False, False)]
    results = []
    expected = 0
    with servers.gunicorn(env, workers=2, threads=4, log=workdir / "gunicorn.log") as url:
        # Warm up imports, connections and caches; every round starts with an empty outbox.
        with servers.outbox_worker(env, log=workdir / "worker.log"), smtp_sink(smtp_port):
            post_tickets(url, key, 20, args.concurrency)
            expected += 20
            wait_for_sent(engine, expected)
        for label, worker_on, smtp_up in rounds * args.repeat:
            with ExitStack() as stack:
                if smtp_up:
                    stack.enter_context(smtp_sink(smtp_port))
                if worker_on:
                    stack.enter_context(servers.outbox_worker(env, log=workdir / "worker.log"))
                result = post_tickets(url, key, args.tickets, args.concurrency)
                drain = None
                if worker_on:
                    if not smtp_up:
                        stack.enter_context(smtp_sink(smtp_port))
                    expected += args.tickets
                    drain = wait_for_sent(engine, expected)
            results.append((label, result["throughput"], result["p50"], result["p99"], drain))

    print(f"{args.tickets} tickets per round, {args.concurrency} clients, gunicorn 2×4, "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}, median of {args.repeat} interleaved runs")
    print(f"{'round':<22} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}  emails delivered")
    for label, _, _ in rounds:
        runs = [r for r in results if r[0] == label]
        rate, p50, p99 = (statistics.median(r[i] for r in runs) for i in (1, 2, 3))
        drains = [r[4] for r in runs if r[4] is not None]
        after = f"all, at most {max(drains):.1f} s after the load" if drains else "— (queued)"
        print(f"{label:<22} {rate:7.1f} {p50:8.1f} {p99:8.1f}  {after}")
        print(f"{'':<22} req/s per run: {', '.join(f'{r[1]:.1f}' for r in runs)}")

if __name__ == "__main__":
    main()
