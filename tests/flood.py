"""One organization floods the server with 64 KiB messages; another opens tickets meanwhile.

Shared by tests/api/test_no_stall.py and bench/stall.py. The flood is either the real
thing (messages posted to a ticket through the API: rendered, then stored) or the same
bodies sent to the desk's Markdown preview (rendered, nothing stored): the same CPU work
without any write. If rendering ran under the write lock, the first would hold up the
other organization's creations far more than the second.
"""

import re
import threading
import time
from collections.abc import Callable

import requests

# The costliest 64 KiB of Markdown we know of (bench/render_cost.py: about 0.6 s): unclosed
# brackets. Its HTML is small, so storing it is cheap: what matters is where it is rendered.
BODY = "[" * 65536
CREATE = "/api/v1/tickets/api-create"


def sign_in(base_url: str, email: str, password: str) -> requests.Session:
    """A browser-like session of a signed-in agent, with the CSRF token as htmx sends it."""
    session = requests.Session()
    page = session.get(base_url + "/login", timeout=30).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    answer = session.post(
        base_url + "/login", data={"email": email, "password": password, "csrf_token": token}, timeout=30
    )
    answer.raise_for_status()
    token = re.search(r'"X-CSRFToken": "([^"]+)"', answer.text).group(1)
    session.headers.update({"X-CSRFToken": token, "HX-Request": "true"})
    return session


def message_poster(base_url: str, key: str, reference: str) -> Callable[[requests.Session], int]:
    def post(session: requests.Session) -> int:
        url = f"{base_url}/api/v1/tickets/{reference}/messages"
        body = {"role": "customer", "content": BODY}
        return session.post(url, json=body, headers={"X-API-Key": key}, timeout=120).status_code

    return post


def previewer(base_url: str, agent: requests.Session) -> Callable[[requests.Session], int]:
    def post(_: requests.Session) -> int:
        return agent.post(base_url + "/preview", data={"body": BODY}, timeout=120).status_code

    return post


def creation_latencies(
    base_url: str, key: str, count: int, load: Callable[[requests.Session], int] | None, clients: int = 4
) -> tuple[list[float], list[int]]:
    """Seconds each of `count` creations took while `clients` threads ran `load` in a loop.

    Returns the latencies and the statuses the load got (so a caller can check it ran).
    """
    stop = threading.Event()
    statuses: list[int] = []

    def flood() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                statuses.append(load(session))

    threads = [threading.Thread(target=flood) for _ in range(clients if load else 0)]
    for thread in threads:
        thread.start()
    latencies = []
    try:
        time.sleep(1.0 if load else 0)  # the flood is under way before the first creation
        with requests.Session() as session:
            for n in range(count):
                body = {"customerExternalId": "victim", "subject": f"Down #{n}", "description": "Down."}
                start = time.perf_counter()
                answer = session.post(base_url + CREATE, json=body, headers={"X-API-Key": key}, timeout=120)
                latencies.append(time.perf_counter() - start)
                assert answer.status_code == 201, answer.text
                time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=300)
    return latencies, statuses


def percentile(samples: list[float], share: float) -> float:
    """The `share` (0.9 for the 90th) percentile by nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def p99(samples: list[float]) -> float:
    return percentile(samples, 0.99)
