"""`limen-server dev` without a mail server: mails land on the dev outbox page and on the
console, labelled as dev mode; a production node has no such page."""

from __future__ import annotations

import os
import sys
import threading
import time

import httpx

from tests.e2e.test_server_cli import start_dev, stop, wait_healthy
from tests.support.live import REPO_ROOT, LiveServer
from tests.support.services import free_port


def test_dev_mode_mail_goes_to_the_outbox_page_and_the_console(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "webapp.cli", "dev", "--port", str(port)]
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)}
    proc, banner = start_dev(command, tmp_path, env)
    console: list[str] = []
    reader = threading.Thread(target=lambda: console.extend(iter(proc.stdout.readline, "")))
    reader.start()
    try:
        assert f"DEV MODE outbox at {base}/dev/outbox" in banner
        wait_healthy(base)
        email = "dev-mail@example.com"
        registered = httpx.post(
            f"{base}/auth/register", json={"email": email, "password": "a long dev password"}
        )
        assert registered.status_code == 201
        deadline = time.monotonic() + 30
        while "limen_ml_" not in (page := httpx.get(f"{base}/dev/outbox")).text:
            assert time.monotonic() < deadline, page.text[-500:]
            time.sleep(0.2)
        assert "Outbox — DEV MODE" in page.text and f"To {email}" in page.text
        assert page.headers["Cache-Control"] == "no-store"
        assert f'href="{base}/email/verify?token=limen_ml_' in page.text  # a working link
        while not any("limen_ml_" in line for line in console):
            assert time.monotonic() < deadline, "".join(console)
            time.sleep(0.2)
        text = "".join(console)
        assert f"DEV MODE mail (not sent; see /dev/outbox) to {email}" in text
    finally:
        stop(proc)
        reader.join(timeout=5)


def test_a_production_node_has_no_outbox_page(mail_node: LiveServer) -> None:
    assert httpx.get(f"{mail_node.url}/dev/outbox").status_code == 404
