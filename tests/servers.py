"""Real processes for tests and benchmarks: gunicorn serving the app on a free port."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 20.0, process: subprocess.Popen | None = None) -> None:
    """Poll `url` until it answers (any status), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def helpdesk_env(instance: Path, database_url: str | None = None, **settings: str) -> dict:
    """Environment for a helpdesk process with its own instance folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env["HELPDESK_INSTANCE_PATH"] = str(instance)
    env["HELPDESK_SECRET_KEY"] = "test-secret"
    if database_url:
        env["HELPDESK_DATABASE_URL"] = database_url
    for key, value in settings.items():
        env[f"HELPDESK_{key}"] = str(value)
    return env


@contextmanager
def gunicorn(
    env: dict,
    *,
    workers: int = 2,
    threads: int = 4,
    app: str = "helpdesk:create_app()",
    log: Path | None = None,
) -> Iterator[str]:
    """Serve `app` with gunicorn on a free port; yields the base URL; stops it after."""
    port = free_port()
    output = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", app,
            "--config", "python:helpdesk.gunicorn_conf",
            "--bind", f"127.0.0.1:{port}",
            # gthread even with one thread, so that every shape keeps connections alive.
            "--worker-class", "gthread", "--workers", str(workers), "--threads", str(threads),
            "--graceful-timeout", "5", "--timeout", "60",
            "--no-control-socket",
        ],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base_url + "/login", process=process)
        yield base_url
    finally:
        stop(process)
        if log:
            output.close()


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def gunicorn_workers(base_url: str) -> list[int]:
    """The process ids of the workers of the gunicorn serving `base_url` (Linux's /proc):
    the processes bound to its port whose parent is bound to it too."""
    bind = f"127.0.0.1:{urlsplit(base_url).port}".encode()
    parents = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and bind in (entry / "cmdline").read_bytes().split(b"\0"):
                parents[int(entry.name)] = int(_stat(entry.name)[1])
        except OSError:  # the process ended while we looked
            continue
    return [pid for pid, parent in parents.items() if parent in parents]


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds the processes have used so far."""
    ticks = sum(int(fields[11]) + int(fields[12]) for fields in map(_stat, pids))
    return ticks / os.sysconf("SC_CLK_TCK")


def _stat(pid: int | str) -> list[str]:
    """/proc/PID/stat's fields after the command name: state, parent, …"""
    return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()


def run_cli(env: dict, *args: str) -> str:
    """Run `helpdesk ARGS…` in a subprocess; returns its output, raising on failure."""
    result = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"helpdesk {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@contextmanager
def outbox_worker(env: dict, *, log: Path | None = None) -> Iterator[subprocess.Popen]:
    """Run `helpdesk worker` as a real process; yields it; stops it (SIGTERM) after."""
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "helpdesk.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        stop(process)
        if log:
            output.close()
