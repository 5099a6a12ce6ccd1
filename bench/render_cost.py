"""What 64 KiB of pathological Markdown costs to render and sanitize, in seconds.

The suite guards the shape of the cost (tests/desk/test_sanitizer.py: four times the text
may not cost near sixteen times the CPU); this prints the figures, wall clock and CPU, the
median of RUNS renders of each input, beside plain prose of the same length as a baseline.

    .venv/bin/python bench/render_cost.py [--runs 5]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpdesk.markdown import render_markdown  # noqa: E402

SIZE = 65536
INPUTS = {
    "plain prose": "The printer is on fire again. ",
    "brackets": "[",
    "nested lists": "- ",
    "nested quotes": "> ",
    "emphasis": "*a",
    "links": "[a](",
}


def measure(text: str, runs: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        render_markdown(text)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{'input (64 KiB)':<16} {'wall p50':>9} {'cpu p50':>9} {'x prose':>8}")
    baseline = None
    for name, unit in INPUTS.items():
        text = (unit * (SIZE // len(unit) + 1))[:SIZE]
        wall, cpu = measure(text, args.runs)
        baseline = baseline or wall
        print(f"{name:<16} {wall:>8.3f}s {cpu:>8.3f}s {wall / baseline:>7.1f}x")


if __name__ == "__main__":
    main()
