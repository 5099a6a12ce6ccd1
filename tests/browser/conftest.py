"""Chromium through Playwright, against the real gunicorn `live_server`."""

import pytest

from ..notify.conftest import smtp_server  # noqa: F401 (a real SMTP server, for the conversation flow)

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Console:
    """Console errors, page errors and CSP violations a page reports."""

    def __init__(self, page):
        self.problems: list[str] = []
        page.on("console", self.on_console)
        page.on("pageerror", lambda error: self.problems.append(f"pageerror: {error}"))

    def on_console(self, message):
        if message.type in ("error", "warning") or "Content Security Policy" in message.text:
            self.problems.append(f"{message.type}: {message.text}")


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.console = Console(page)
    yield page
    context.close()


def sign_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(base_url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(base_url + "/")
