"""The app under real gunicorn workers, as `make run` serves it."""

import re

import pytest
import requests

from . import factories


@pytest.mark.slow
def test_gunicorn_serves_login_and_an_agent_signs_in(live_server, org):
    factories.make_agent(org, email="nina@example.com")
    session = requests.Session()
    page = session.get(live_server.url + "/login", timeout=10)
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = session.post(
        live_server.url + "/login",
        data={"email": "nina@example.com", "password": factories.PASSWORD, "csrf_token": token},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.url == live_server.url + "/"
    assert 'id="queue"' in response.text


@pytest.mark.slow
def test_login_without_csrf_token_is_refused(live_server, org):
    factories.make_agent(org, email="omar@example.com")
    response = requests.post(
        live_server.url + "/login",
        data={"email": "omar@example.com", "password": factories.PASSWORD},
        timeout=10,
    )
    assert response.status_code == 400


def test_a_gunicorn_worker_freezes_the_loaded_app_out_of_the_collectors_sight(tmp_path):
    """The hook runs in a real worker: its frozen count is read back through a tiny app."""
    import subprocess
    import sys
    import textwrap

    from .servers import ROOT, free_port, stop, wait_for_http

    (tmp_path / "probe.py").write_text(textwrap.dedent('''
        import gc

        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [str(gc.get_freeze_count()).encode()]
    '''))
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "probe:app", "--config", "python:helpdesk.gunicorn_conf",
         "--bind", f"127.0.0.1:{port}", "--chdir", str(tmp_path), "--pythonpath", str(ROOT),
         "--no-control-socket"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", process=process)
        assert int(requests.get(f"http://127.0.0.1:{port}/", timeout=10).text) > 1000
    finally:
        stop(process)
