"""The SQLite counts behind the API's rate limit (helpdesk/ratelimits.py)."""

import threading

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from helpdesk import ratelimits


@pytest.fixture
def clock(monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(ratelimits.time, "time", lambda: now[0])
    return now


@pytest.fixture
def counts(tmp_path):
    return storage_from_string(f"sqlite:///{tmp_path / 'counts.db'}")


def test_a_window_counts_up_then_starts_again_when_it_runs_out(counts, clock):
    assert [counts.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert counts.get("k") == 3 and counts.get_expiry("k") == clock[0] + 60
    clock[0] += 59
    assert counts.incr("k", 60) == 4
    clock[0] += 1
    assert counts.get("k") == 0
    assert counts.incr("k", 60, amount=2) == 2
    assert counts.get_expiry("k") == clock[0] + 60


def test_keys_count_apart_and_clear_alone(counts, clock):
    counts.incr("a", 60)
    counts.incr("b", 60)
    counts.clear("a")
    assert (counts.get("a"), counts.get("b")) == (0, 1)
    assert counts.reset() == 1 and counts.get("b") == 0
    assert counts.check()


def test_two_storages_on_one_file_share_the_count(tmp_path):
    """As two worker processes do; threads of one process each get a connection of their own."""
    uri = f"sqlite:///{tmp_path / 'counts.db'}"
    first, second = storage_from_string(uri), storage_from_string(uri)
    limit = parse("50 per minute")
    limiters = [FixedWindowRateLimiter(first), FixedWindowRateLimiter(second)]
    allowed = []

    def client(n):
        allowed.extend(limiters[n % 2].hit(limit, "key") for _ in range(20))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert allowed.count(True) == 50 and allowed.count(False) == 30


def test_a_uri_without_a_file_is_refused():
    with pytest.raises(ValueError, match="name the counts file"):
        storage_from_string("sqlite://")
