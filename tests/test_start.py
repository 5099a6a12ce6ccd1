"""Starting up: `helpdesk --help` builds nothing, `serve --init --seed-demo` does it all in one go."""

import os
import subprocess
import sys

import requests

from .servers import ROOT, free_port, stop, wait_for_http

HELPDESK = [sys.executable, "-m", "helpdesk.cli"]


def clean_env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    return env | {"HELPDESK_INSTANCE_PATH": str(tmp_path / "instance")} | extra


def test_help_lists_every_command_without_building_the_app(tmp_path):
    # No secret key and no instance folder: building the app would fail, so listing the
    # commands must not build it; and none of the database layer is imported for it.
    probe = (
        "import sys; from helpdesk.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as done:\n    code = done.code\n"
        "heavy = ('sqlalchemy', 'helpdesk.models', 'flask_migrate', 'markdown_it')\n"
        "heavy = sorted(m for m in heavy if m in sys.modules)\n"
        "print('HEAVY', heavy, code)\n"
    )  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", probe], env=clean_env(tmp_path), cwd=ROOT,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "HEAVY [] 0" in result.stdout, result.stdout + result.stderr
    for command in ("init", "serve", "seed-demo", "create-api-key", "revoke-api-key", "worker", "db"):
        assert f"  {command} " in result.stdout
    assert not (tmp_path / "instance").exists()


def test_db_commands_still_reach_flask_migrate(tmp_path):
    env = clean_env(tmp_path, HELPDESK_SECRET_KEY="x" * 32)
    result = subprocess.run(
        HELPDESK + ["db", "--help"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and "upgrade" in result.stdout


def test_serve_with_init_and_seed_demo_prepares_and_serves_in_one_process(tmp_path):
    port = free_port()
    env = clean_env(tmp_path, HELPDESK_BASE_URL=f"http://127.0.0.1:{port}")
    with open(tmp_path / "serve.log", "w") as log:
        process = subprocess.Popen(
            HELPDESK + ["serve", "--init", "--seed-demo", "--port", str(port), "--workers", "1",
                        "--no-outbox-worker"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            wait_for_http(f"http://127.0.0.1:{port}/login", timeout=90, process=process)
            assert requests.get(f"http://127.0.0.1:{port}/login", timeout=10).status_code == 200
        finally:
            stop(process)
    output = (tmp_path / "serve.log").read_text()
    assert "Database ready" in output and "Sign in as admin@example.com" in output
    assert (tmp_path / "instance" / "demo-credentials.txt").exists()
