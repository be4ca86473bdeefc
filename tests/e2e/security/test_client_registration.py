"""The operator's `limen-server create-client`: the introspect right can be given, and a
client cannot take an id that passes for a person (RFC 9700 §4.15)."""

from __future__ import annotations

import json

import httpx

from tests.e2e.test_server_cli import limen_server


def create_client(server, *extra: str):
    return limen_server(
        "create-client", "--name", "rs", "--grant", "client_credentials", *extra, env=server.env
    )


def test_a_client_id_shaped_like_a_user_id_is_refused(server, api):
    person = api.register()
    made = create_client(server, "--client-id", person.id)
    assert made.returncode == 1
    assert "user id" in made.stderr


def test_the_operator_registers_a_resource_server_that_may_introspect(server, api):
    made = create_client(server, "--introspect", "--json")
    assert made.returncode == 0, made.stderr
    rs = json.loads(made.stdout)
    token = api.login(api.register())["access_token"]
    answer = httpx.post(
        f"{server.url}/oauth/introspect",
        data={"token": token},
        auth=(rs["client_id"], rs["client_secret"]),
    )
    assert answer.json()["active"] is True
