"""gunicorn settings shared by `helpdesk serve`, the tests and the benchmarks.

    gunicorn --config python:helpdesk.gunicorn_conf 'helpdesk:create_app()'
"""

import gc
import sys

# How long a thread may keep the interpreter lock while another waits (Python: 5 ms).
SWITCH_INTERVAL = 0.0005


def post_worker_init(worker) -> None:
    """Hide the loaded application from Python's cyclic garbage collector.

    A worker holds about 100,000 objects once the app is loaded (modules, SQLAlchemy's
    mappings, templates), all alive until it exits. A full collection walks every one of
    them, 60-80 ms during which no thread of the worker runs: one page in a hundred paid
    it. Frozen, they are never walked, and a full collection takes under a millisecond.
    """
    gc.collect()
    gc.freeze()
    # A thread holding SQLite's write lock gives up the interpreter lock at every database
    # call and must wait to get it back while the worker's other threads render pages: with
    # 5 ms turns a one-millisecond write held the lock for tens of milliseconds, and every
    # other writer, of every organization, waited behind it (tests/api/test_no_stall.py,
    # bench/stall.py). Shorter turns cut that wait; creation's throughput is unchanged
    # (bench/api_create.py: 0.29 of the ceiling either way).
    sys.setswitchinterval(SWITCH_INTERVAL)
