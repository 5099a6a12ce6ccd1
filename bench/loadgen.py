"""The one load generator every benchmark uses: keep-alive clients on 127.0.0.1.

`run` sends `total` requests from `concurrency` clients, each on its own connection,
one request after the other, and returns throughput and latency percentiles.
"""

import http.client
import statistics
import threading
import time
from urllib.parse import urlsplit


def run(
    base_url: str,
    method: str,
    path: str,
    *,
    total: int,
    concurrency: int,
    headers: dict | None = None,
    body: bytes | None = None,
    expect: int = 200,
) -> dict:
    """Requests/s, p50 and p99 in ms, the count of failures (unexpected statuses and
    dropped connections), wall seconds, and the latencies in seconds, sorted."""
    address = urlsplit(base_url)
    latencies: list[float] = []
    failures: list[int | str] = []
    lock = threading.Lock()
    remaining = [total]
    start = threading.Barrier(concurrency + 1)

    def client() -> None:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        mine, bad = [], []
        start.wait()
        while True:
            with lock:
                if remaining[0] == 0:
                    break
                remaining[0] -= 1
            began = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers or {})
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as error:
                # A dropped connection is a failure to report, not the end of the run.
                bad.append(type(error).__name__)
                connection.close()
                connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
                continue
            mine.append(time.perf_counter() - began)
            if response.status != expect:
                bad.append(response.status)
        connection.close()
        with lock:
            latencies.extend(mine)
            failures.extend(bad)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    return _summary(latencies, len(failures), seconds)


def combine(results: list[dict]) -> dict:
    """One summary of several `run`s against the same endpoint: their requests over their
    summed seconds, and the percentiles of all their latencies together."""
    return _summary(
        [latency for result in results for latency in result["latencies"]],
        sum(result["failures"] for result in results),
        sum(result["seconds"] for result in results),
    )


def _summary(latencies: list[float], failures: int, seconds: float) -> dict:
    latencies = sorted(latencies)
    summary = {"failures": failures, "seconds": seconds, "latencies": latencies}
    if not latencies:  # every request failed
        nan = float("nan")
        return summary | {"throughput": 0.0, "p50": nan, "p99": nan}
    return summary | {
        "throughput": len(latencies) / seconds,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }
