"""Real headless Chromium (Debian's package) driven by Playwright, shared by every browser
test. Each page reports Content-Security-Policy violations; a test that causes one fails."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# Runs in every document before its own scripts; the binding survives navigations.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.limenCspViolation(`${e.effectiveDirective} blocked ${e.blockedURI} on ${e.documentURI}`);
});
"""


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


def watch_csp(context: BrowserContext, violations: list[str]) -> None:
    """Collect CSP violations: the DOM event and Chromium's console report of it."""

    def reported(text: str) -> None:
        violations.append(text)

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"console: {message.text}")

    context.expose_function("limenCspViolation", reported)
    context.add_init_script(REPORT_VIOLATIONS)
    context.on("console", console)


@pytest.fixture
def new_page(chromium: Browser) -> Iterator[Callable[..., Page]]:
    """A fresh browser profile per call (``options``: Playwright's context options, e.g.
    ``java_script_enabled=False`` or a ``viewport``); the test fails on any CSP violation in
    any of them."""
    contexts: list[BrowserContext] = []
    violations: list[str] = []

    def make(**options: Any) -> Page:
        context = chromium.new_context(**{"viewport": {"width": 1280, "height": 860}, **options})
        watch_csp(context, violations)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture(scope="session")
def shots(artifacts_dir: Path) -> Callable[[Page, str], None]:
    folder = artifacts_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def shot(page: Page, name: str) -> None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    return shot
