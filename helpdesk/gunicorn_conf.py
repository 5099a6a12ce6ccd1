"""gunicorn settings shared by `helpdesk serve`, the tests and the benchmarks.

    gunicorn --config python:helpdesk.gunicorn_conf 'helpdesk:create_app()'
"""

import gc


def post_worker_init(worker) -> None:
    """Hide the loaded application from Python's cyclic garbage collector.

    A worker holds about 100,000 objects once the app is loaded (modules, SQLAlchemy's
    mappings, templates), all alive until it exits. A full collection walks every one of
    them, 60-80 ms during which no thread of the worker runs: one page in a hundred paid
    it. Frozen, they are never walked, and a full collection takes under a millisecond.
    """
    gc.collect()
    gc.freeze()
