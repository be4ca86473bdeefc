"""An API key's last use, end to end: a request with the key writes nothing to the database;
the real cron and worker processes move the use Redis noted into PostgreSQL, and the owner
sees it in the API and on the portal's keys page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from tests.support.browser import sign_in
from tests.support.db import scalar
from tests.support.factories import Api

from .conftest import JobProcess, wait_for

LAST_USED = "SELECT last_used_at FROM api_keys WHERE id = :id"


@pytest.mark.parametrize("backend", ["postgresql"])
def test_last_use_reaches_the_database_through_the_job_and_the_portal_shows_it(
    backend, make_database, start_server, tmp_path: Path
) -> None:
    node = start_server(
        make_database(backend),
        LIMEN_JOB_INTERVALS=json.dumps({"api_keys.flush_usage": 1}),
        LIMEN_CRON_TICK_SECONDS="0.2",
    )
    url = node.env["LIMEN_DATABASE_URL"]
    with Api(node.url) as api:
        account = api.register()
        owner = api.bearer(api.login(account)["access_token"])
        made = api.http.post(
            "/api/v1/api-keys", json={"name": "ci", "scopes": ["profile"]}, headers=owner
        )
        assert made.status_code == 201, made.text
        key_id, key = made.json()["id"], made.json()["key"]

        used = httpx.get(f"{node.url}/api/v1/me", headers={"X-API-Key": key})
        assert used.status_code == 200
        assert scalar(url, LAST_USED, id=key_id) is None  # the request wrote no row

        processes = [
            JobProcess(("worker",), node.env, tmp_path / "worker.log").start(),
            JobProcess(("cron",), node.env, tmp_path / "cron.log").start(),
        ]
        try:
            wait_for(lambda: scalar(url, LAST_USED, id=key_id), 60, "last_used_at in the DB")
        finally:
            for process in processes:
                process.stop()

        listed = api.http.get("/api/v1/api-keys", headers=owner).json()["items"]
        assert [k["last_used_at"] is not None for k in listed if k["id"] == key_id] == [True]

    with httpx.Client(base_url=node.url, timeout=30) as browser:
        sign_in(browser, node.url, account.email, account.password)
        page = browser.get("/keys")
        assert page.status_code == 200
        row = page.text[page.text.index(made.json()["prefix"]) :].split("</tr>", 1)[0]
        last_used = re.search(r'<td data-label="Last used">(.*?)</td>', row, re.S)
        assert last_used is not None, row  # a <time> with the exact UTC moment, not "never"
        assert re.fullmatch(
            r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ" title="[^"]+ UTC">[^<]+</time>',
            last_used.group(1).strip(),
        ), last_used.group(1)
