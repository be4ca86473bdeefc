"""axe-core (through axe-playwright-python) on a page Playwright holds: the serious and
critical findings, in words a failing test can print."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

_axe = Axe()


def serious_findings(page: Page) -> list[str]:
    """Each serious or critical axe rule the page breaks, with the first element it names."""
    violations = _axe.run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes'][0]['target']}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
