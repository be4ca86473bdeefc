"""A team's resource server guards its views with the SDK decorator; the decisions are the
ones Limen's policies say, over real HTTP on both sides."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask, request
from werkzeug.serving import make_server

from cli_plugins.authorize import authorized
from cli_plugins.errors import LimenError
from cli_plugins.sdk import AuthClient


@pytest.fixture
def resource_server(server, service, org, tmp_path: Path) -> Iterator[tuple[str, dict]]:
    made = org()
    token = service["Authorization"].split()[1]
    env = {"LIMEN_SERVER": server.url, "LIMEN_TOKEN": token, "LIMEN_CONFIG_DIR": str(tmp_path)}
    auth = AuthClient.from_config(env=env)
    app = Flask("files")

    def who() -> str:
        return request.headers["X-User"]

    @app.get("/files/<name>")
    @authorized(auth, "read", lambda name: f'Acme::File::"{name}"', subject=who, org=made["id"])
    def read(name: str) -> dict[str, str]:
        return {"file": name}

    @app.put("/files/<name>")
    @authorized(auth, "write", lambda name: f'Acme::File::"{name}"', subject=who, org=made["id"])
    def write(name: str) -> dict[str, str]:
        return {"written": name}

    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}", made | {"auth": auth}
    finally:
        http.shutdown()
        auth.close()


def test_the_decorator_enforces_the_policies(resource_server):
    url, made = resource_server
    ana = {"X-User": made["ana"].email}
    # Each request makes a second one (to Limen): allow for a loaded shared machine.
    with httpx.Client(base_url=url, timeout=30) as http:
        assert http.get("/files/report.csv", headers=ana).json() == {"file": "report.csv"}
        refused = http.put("/files/report.csv", headers=ana)
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
        assert http.get("/files/keys.txt", headers=ana).status_code == 403
        stranger = {"X-User": "nobody@example.com"}
        assert http.get("/files/report.csv", headers=stranger).status_code == 403


def test_authorize_explains_and_never_turns_a_failure_into_a_deny(resource_server):
    _, made = resource_server
    auth = made["auth"]
    decision = auth.authorize(
        made["ana"].email, "read", 'Acme::File::"report.csv"', org=made["id"], explain=True
    )
    assert decision and decision.policies[0]["id"] == "team-read"
    with pytest.raises(LimenError, match="Unknown action"):
        auth.authorize(made["ana"].email, "reed", 'Acme::File::"report.csv"', org=made["id"])
    with pytest.raises(LimenError, match="organisation"):
        auth.authorize(made["ana"].email, "read", 'Acme::File::"report.csv"')
