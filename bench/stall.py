"""Can one organization stall another's writes? Ticket creation latency of a quiet
organization while a noisy one floods 64 KiB messages (issue 16, finding 1).

Gunicorn (2 workers x 4 threads) on a fresh SQLite file. One client of the victim opens
tickets one after the other (a pause of 50 ms between them) in three conditions, which
take turns for ROUNDS rounds so that a change in the machine's speed weighs on all alike:

- quiet: nothing else runs;
- preview: four clients send the 64 KiB bodies to the desk's Markdown preview (the same
  rendering, no write, no lock): the CPU cost of the flood alone;
- flood: four clients post the same bodies as messages on the noisy organization's
  ticket through the API (rendered, then stored).

If rendering ran under the write lock, flood would be far above preview; it should be
within about 2x of it. Prints p50/p99 of each, and flood's p99 over preview's.

    .venv/bin/python bench/stall.py [--rounds 3] [--creations 40] [--clients 4]
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import flood  # noqa: E402
from tests.servers import gunicorn, helpdesk_env  # noqa: E402

PASSWORD = "benchmark"


def seed(database: Path, instance: Path) -> tuple[str, str, str]:
    """Two organizations: the victim (an agent, a customer) and the noisy one (a ticket,
    an agent to preview with). Their keys and the noisy ticket's reference."""
    import os

    os.environ["HELPDESK_INSTANCE_PATH"] = str(instance)
    from flask_migrate import upgrade

    from helpdesk import accounts, audit, config, create_app
    from helpdesk.customers import CustomerRef, upsert_customer
    from helpdesk.db import write_transaction
    from helpdesk.extensions import db
    from helpdesk.models import Availability
    from helpdesk.tickets import NewTicket, create_ticket

    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{database}"})
    with app.app_context():
        upgrade(directory=str(config.MIGRATIONS))
        with write_transaction():
            victim = accounts.create_org("Victim", "victim", "VIC")
            accounts.create_agent(
                victim, email="agent@victim.test", name="Agent", password=PASSWORD,
                availability=Availability.AVAILABLE, capacity=1_000_000,
            )  # fmt: skip
            upsert_customer(victim, external_id="victim")
            noisy = accounts.create_org("Noisy", "noisy", "NOI")
            accounts.create_agent(noisy, email="agent@noisy.test", name="Reader", password=PASSWORD)
            customer, _ = upsert_customer(noisy, external_id="noisy")
            flooded = CustomerRef(public_id=customer.public_id)
            new = NewTicket(customer=flooded, subject="Flooded", description="x")
            ticket = create_ticket(noisy, new, audit.Actor(label="bench"))
            reference = ticket.reference
            victim_key = accounts.issue_api_key(victim, "bench")[1]
            noisy_key = accounts.issue_api_key(noisy, "bench")[1]
        db.engine.dispose()
    return victim_key, noisy_key, reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--creations", type=int, default=40, help="per condition and round")
    parser.add_argument("--clients", type=int, default=4, help="flooding clients")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        database, instance = root / "stall.db", root / "instance"
        victim_key, noisy_key, reference = seed(database, instance)
        env = helpdesk_env(instance, f"sqlite:///{database}", RATELIMIT_ENABLED="0")
        with gunicorn(env, log=root / "gunicorn.log") as url:
            reader = flood.sign_in(url, "agent@noisy.test", PASSWORD)
            loads = {
                "quiet": None,
                "preview": flood.previewer(url, reader),
                "flood": flood.message_poster(url, noisy_key, reference),
            }
            latencies: dict[str, list[float]] = {name: [] for name in loads}
            for _ in range(args.rounds):
                for name, load in loads.items():
                    taken, _ = flood.creation_latencies(url, victim_key, args.creations, load, args.clients)
                    latencies[name] += taken
    print(f"{'victim creates':<16} {'n':>5} {'p50 ms':>8} {'p99 ms':>8}")
    for name, samples in latencies.items():
        median = statistics.median(samples) * 1000
        print(f"{name:<16} {len(samples):>5} {median:>8.1f} {flood.p99(samples) * 1000:>8.1f}")
    ratio = flood.p99(latencies["flood"]) / flood.p99(latencies["preview"])
    print(f"flood p99 / preview p99: {ratio:.2f} (aim: at most 2; rendering under the write lock gave 40)")


if __name__ == "__main__":
    main()
