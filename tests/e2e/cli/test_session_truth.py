"""What the CLI says about a session is what the server says: no token for a revoked session,
no "logged in" for it, no silently narrower scopes, no login that waits for nobody."""

from __future__ import annotations

import json
import time

from .conftest import create_client, me, revoke_session


def test_token_fails_with_exit_3_once_the_session_is_revoked(limen, account, cli_server):
    limen.login(account)
    assert me(cli_server, limen.run("token").stdout.strip()).status_code == 200
    revoke_session(cli_server, limen.stored()["refresh_token"])
    result = limen.run("token")
    assert result.returncode == 3 and result.stdout == ""
    assert "has ended" in result.stderr and "limen login" in result.stderr


def test_profiles_list_says_a_revoked_session_is_not_logged_in(limen, register, cli_server):
    ana, bob = register(), register()
    limen.login(ana, "--profile", "ana")
    limen.login(bob, "--profile", "bob")
    revoke_session(cli_server, limen.stored("bob")["refresh_token"])
    listing = json.loads(limen.run("profiles", "list", "--json").stdout)["profiles"]
    assert {p["name"]: p["logged_in"] for p in listing} == {"ana": True, "bob": False}
    table = limen.run("profiles", "list").stdout.splitlines()
    assert [row.split()[-2] for row in table if row.split()[1] == "bob"] == ["no"]


def test_client_credentials_refuse_a_scope_the_client_lacks(limen, cli_server):
    client = create_client(cli_server, scopes=("profile", "sessions:read"))
    env = limen.env(
        LIMEN_CLIENT_ID=client["client_id"], LIMEN_CLIENT_SECRET=client["client_secret"]
    )
    narrower = limen.run(
        "login", "--client-credentials", "--scope", "profile", "--scope", "keys:read", env=env
    )
    assert narrower.returncode == 4, narrower.stderr  # the server refuses: invalid_scope
    assert "not registered for keys:read" in narrower.stderr and "--scope" in narrower.stderr
    assert not limen.credentials_file.exists()
    granted = limen.run("login", "--client-credentials", "--scope", "profile", env=env)
    assert granted.returncode == 0, granted.stderr
    assert "Granted scopes: profile" in granted.stderr


def test_login_without_a_terminal_fails_fast_unless_a_service_can_log_in(limen, cli_server):
    started = time.monotonic()
    stuck = limen.run("login")  # stdin, stdout and stderr are pipes: nobody to approve a code
    assert stuck.returncode == 2 and time.monotonic() - started < 30
    assert "LIMEN_CLIENT_ID" in stuck.stderr and "limen login --device" in stuck.stderr
    client = create_client(cli_server)
    env = limen.env(
        LIMEN_CLIENT_ID=client["client_id"], LIMEN_CLIENT_SECRET=client["client_secret"]
    )
    ci = limen.run("login", env=env)
    assert ci.returncode == 0, ci.stderr
    assert "via client-credentials" in ci.stderr
