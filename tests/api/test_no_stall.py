"""No organization can stall another's writes (finding 1 of issue 16).

Two organizations on one database behind real gunicorn: one floods 64 KiB messages from
four clients while the other opens tickets. The victim's 90th percentile is compared, in
the same test, with its 90th percentile under the same CPU load that takes no lock (the
same bodies sent to the Markdown preview): a ratio, never a clock against a fixed limit.
Rendering under the write lock puts nearly every creation behind a 0.6 s render (about
40 times slower), so the 90th percentile shows it while ignoring the few outliers that a
machine busy with other work gives either side (bench/stall.py reports the p99).
"""

import pytest

from helpdesk.models import Availability

from .. import factories, flood

pytestmark = pytest.mark.slow

ROUNDS, CREATIONS = 3, 25  # the two loads take turns, so that a busy moment hits both


def test_a_flood_of_long_messages_does_not_hold_up_another_organizations_creations(live_server):
    noisy, victim = factories.make_org(), factories.make_org()
    factories.make_agent(victim, availability=Availability.AVAILABLE, capacity=1000)
    factories.make_customer(victim, external_id="victim")
    reader = factories.make_agent(noisy)
    flooded = factories.make_ticket(noisy)
    noisy_key, victim_key = factories.make_api_key(noisy)[1], factories.make_api_key(victim)[1]
    agent = flood.sign_in(live_server.url, reader.email, factories.PASSWORD)

    preview = flood.previewer(live_server.url, agent)
    messages = flood.message_poster(live_server.url, noisy_key, flooded.reference)
    base, under, previewed, written = [], [], [], []
    for _ in range(ROUNDS):
        for load, latencies, statuses in [(preview, base, previewed), (messages, under, written)]:
            taken, answered = flood.creation_latencies(live_server.url, victim_key, CREATIONS, load)
            latencies += taken
            statuses += answered

    assert previewed and set(previewed) == {200}
    assert written and set(written) == {201}  # the flood really wrote, all through the test
    p90 = flood.percentile(base, 0.9), flood.percentile(under, 0.9)
    figures = f"victim p90: {p90[0]:.3f} s under preview load, {p90[1]:.3f} s flooded"
    print(figures)
    assert p90[1] <= 2 * p90[0], figures
