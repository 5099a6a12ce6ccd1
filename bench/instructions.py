"""Instructions per ticket creation, counted by valgrind: a figure this machine's drift can't move.

Throughput here changes by a quarter from one minute to the next, so a change worth 5-10%
is lost in bench/api_create.py's noise. Valgrind's callgrind counts the instructions a
run executes instead, the same every time for the same code and inputs. This runs
`--requests` creations of bench/api_create.py's body in process (Flask's test client, a
seeded SQLite file, no gunicorn) twice, with and without the extra requests, and prints
the difference per request: the interpreter's start-up, the imports and the seeding
cancel out.

    .venv/bin/python bench/instructions.py [--requests 200]

Each count takes a minute or two: valgrind runs Python some fifty times slower.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WARMUP = 50


def serve(side: str, requests: int) -> None:
    """In the counted process: seed a database, then post WARMUP + `requests` creations."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    import api_create

    folder = Path(tempfile.mkdtemp(prefix="bench-instructions-"))
    secret = api_create.seed(folder / "helpdesk.db", folder / "instance")
    from helpdesk import create_app

    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{folder / 'helpdesk.db'}"})
    client = app.test_client()
    headers = {"X-API-Key": secret, "Content-Type": "application/json"}
    body = json.dumps(api_create.BODY)
    for _ in range(WARMUP + requests):
        response = client.post("/api/v1/tickets/api-create", data=body, headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)


def count(side: str, requests: int) -> int:
    """Instructions of one whole counted process."""
    result = subprocess.run(
        [
            "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
            sys.executable, __file__, "--serve", side, "--requests", str(requests),
        ],
        env=dict(os.environ, PYTHONHASHSEED="0", HELPDESK_RATELIMIT_ENABLED="0"),
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(re.search(r"Collected : (\d+)", result.stderr).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.requests)
        return
    per_request = (count("ours", args.requests) - count("ours", 0)) / args.requests
    print(f"{per_request / 1e6:6.2f} million instructions per creation")


if __name__ == "__main__":
    main()
